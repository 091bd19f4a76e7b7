"""Initial schema: every study table, the audit log, and the triggers that make the audit log append-only.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_MESSAGE = "audit_log is append-only: UPDATE and DELETE are refused (21 CFR 11.10(e))"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
)

POSTGRESQL_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION cartrial_audit_log_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION cartrial_audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION cartrial_audit_log_append_only()""",
)


def _create_audit_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect)
    if statements is None:
        raise RuntimeError(f"no append-only audit triggers for the {dialect} backend")
    for statement in statements:
        op.execute(statement)


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS cartrial_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("user_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("table_name", sa.String(length=60), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("software_version", sa.String(length=40), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_record", ["table_name", "record_id"], unique=False)
        batch_op.create_index("ix_audit_log_subject", ["subject_id"], unique=False)

    op.create_table(
        "data_lock",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("locked_by", sa.String(length=80), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unlocked_by", sa.String(length=80), nullable=True),
        sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "escalation_decision",
        sa.Column("cohort", sa.Integer(), nullable=False),
        sa.Column("dose_level", sa.Integer(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("design", sa.String(length=40), nullable=True),
        sa.Column("design_state", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("decision", sa.String(length=40), nullable=False),
        sa.Column("approved_by", sa.String(length=80), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort", name="uq_escalation_decision"),
    )
    op.create_table(
        "import_manifest",
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("row_counts", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("imported_by", sa.String(length=80), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_name", "imported_at", name="uq_import_manifest"),
    )
    with op.batch_alter_table("import_manifest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_manifest_sha256"), ["sha256"], unique=False)

    op.create_table(
        "site",
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=80), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id"),
    )
    op.create_table(
        "study",
        sa.Column("study_code", sa.String(length=80), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("protocol_version", sa.String(length=40), nullable=False),
        sa.Column("protocol_file_name", sa.String(length=400), nullable=True),
        sa.Column("protocol_sha256", sa.String(length=64), nullable=False),
        sa.Column("protocol_yaml", sa.Text(), nullable=False),
        sa.Column("birth_date_precision", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("birth_date_precision IN ('year', 'date')", name="ck_study_birth_prec"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_code"),
    )
    op.create_table(
        "app_user",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'investigator', 'data_manager', 'monitor', 'statistician')",
            name="ck_user_role",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.site_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "subject",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("screening_number", sa.String(length=40), nullable=True),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("consent_version", sa.String(length=40), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("aqp4_igg_status", sa.String(length=20), nullable=True),
        sa.Column("aqp4_igg_titre", sa.String(length=20), nullable=True),
        sa.Column("aqp4_igg_assay", sa.Text(), nullable=True),
        sa.Column("treatment_history", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("relapse_history", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.site_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id"),
    )
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_site_id"), ["site_id"], unique=False)

    op.create_table(
        "adverse_event",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("meddra_code", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("grading_scale", sa.String(length=40), nullable=True),
        sa.Column("grading_scale_version", sa.String(length=20), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=True),
        sa.Column("relatedness", sa.String(length=40), nullable=True),
        sa.Column("dlt", sa.Boolean(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("pathogen", sa.Text(), nullable=True),
        sa.Column("infection_site", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("grade IS NULL OR (grade >= 1 AND grade <= 5)", name="ck_ae_grade"),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "term", "started_on", name="uq_adverse_event"),
    )
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adverse_event_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "crs_assessment",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("temperature_f", sa.Float(), nullable=True),
        sa.Column("fever_masked", sa.Boolean(), nullable=True),
        sa.Column("hypotension", sa.Boolean(), nullable=True),
        sa.Column("systolic_bp_mmhg", sa.Float(), nullable=True),
        sa.Column("vasopressors", sa.Integer(), nullable=True),
        sa.Column("vasopressin", sa.Boolean(), nullable=True),
        sa.Column("vasopressor_names", sa.Text(), nullable=True),
        sa.Column("oxygen", sa.String(length=40), nullable=True),
        sa.Column("oxygen_l_min", sa.Float(), nullable=True),
        sa.Column("fio2_pct", sa.Float(), nullable=True),
        sa.Column("death_due_to_crs", sa.Boolean(), nullable=True),
        sa.Column("fever_other_cause", sa.Boolean(), nullable=True),
        sa.Column("crs_resolved", sa.Boolean(), nullable=True),
        sa.Column("norepinephrine_ug_min", sa.Float(), nullable=True),
        sa.Column("dopamine_ug_kg_min", sa.Float(), nullable=True),
        sa.Column("phenylephrine_ug_min", sa.Float(), nullable=True),
        sa.Column("epinephrine_ug_min", sa.Float(), nullable=True),
        sa.Column("organ_toxicity_grade", sa.Integer(), nullable=True),
        sa.Column("transaminase_grade", sa.Integer(), nullable=True),
        sa.Column("life_threatening_hypotension", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", name="uq_crs_assessment"),
    )
    with op.batch_alter_table("crs_assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crs_assessment_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "data_query",
        sa.Column("query_code", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=True),
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("raised_by", sa.String(length=80), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name="ck_query_status"),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("query_code"),
    )
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_query_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "derived_value",
        sa.Column("subject_id", sa.String(length=40), nullable=True),
        sa.Column("engine", sa.String(length=80), nullable=False),
        sa.Column("engine_version", sa.String(length=40), nullable=False),
        sa.Column("options", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("source_table", sa.String(length=60), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("parameter", sa.String(length=80), nullable=False),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("clinical_date", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "engine", "source_table", "source_record_id", "parameter", name="uq_derived_value"
        ),
    )
    with op.batch_alter_table("derived_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_derived_value_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "edss_assessment",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visual", sa.Integer(), nullable=True),
        sa.Column("brainstem", sa.Integer(), nullable=True),
        sa.Column("pyramidal", sa.Integer(), nullable=True),
        sa.Column("cerebellar", sa.Integer(), nullable=True),
        sa.Column("sensory", sa.Integer(), nullable=True),
        sa.Column("bowel_bladder", sa.Integer(), nullable=True),
        sa.Column("cerebral", sa.Integer(), nullable=True),
        sa.Column("ambulation", sa.Integer(), nullable=True),
        sa.Column("walking_distance_m", sa.Float(), nullable=True),
        sa.Column("assistance", sa.String(length=40), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=True),
        sa.Column("examiner", sa.String(length=80), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", name="uq_edss_assessment"),
    )
    with op.batch_alter_table("edss_assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edss_assessment_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "icans_assessment",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consciousness", sa.String(length=40), nullable=True),
        sa.Column("seizure", sa.String(length=40), nullable=True),
        sa.Column("motor", sa.String(length=40), nullable=True),
        sa.Column("cerebral_edema", sa.String(length=40), nullable=True),
        sa.Column("ice_orientation", sa.Integer(), nullable=True),
        sa.Column("ice_naming", sa.Integer(), nullable=True),
        sa.Column("ice_command", sa.Integer(), nullable=True),
        sa.Column("ice_writing", sa.Integer(), nullable=True),
        sa.Column("ice_attention", sa.Integer(), nullable=True),
        sa.Column("ice_total", sa.Integer(), nullable=True),
        sa.Column("consciousness_other_cause", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", name="uq_icans_assessment"),
    )
    with op.batch_alter_table("icans_assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_icans_assessment_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "infusion",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("infused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dose_level", sa.Integer(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("cells_per_kg", sa.Float(), nullable=True),
        sa.Column("total_car_t_cells", sa.Float(), nullable=True),
        sa.Column("product_lot", sa.String(length=80), nullable=True),
        sa.Column("viability_pct", sa.Float(), nullable=True),
        sa.Column("leukapheresis_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "infused_at", name="uq_infusion"),
    )
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_infusion_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "lab_result",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("analyte", sa.String(length=80), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        sa.Column("laboratory", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "analyte", "collected_at", name="uq_lab_result"),
    )
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lab_result_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "lymphodepletion_administration",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("drug", sa.String(length=80), nullable=False),
        sa.Column("administered_on", sa.Date(), nullable=False),
        sa.Column("day_relative_to_infusion", sa.Integer(), nullable=True),
        sa.Column("dose_mg_per_m2", sa.Float(), nullable=True),
        sa.Column("dose_mg", sa.Float(), nullable=True),
        sa.Column("body_surface_area_m2", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "drug", "administered_on", name="uq_lymphodepletion"),
    )
    with op.batch_alter_table("lymphodepletion_administration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lymphodepletion_administration_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "osis_assessment",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visual_od", sa.Integer(), nullable=True),
        sa.Column("visual_os", sa.Integer(), nullable=True),
        sa.Column("motor", sa.Integer(), nullable=True),
        sa.Column("sensory", sa.Integer(), nullable=True),
        sa.Column("sphincter", sa.Integer(), nullable=True),
        sa.Column("timed_25_foot_walk_s", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", name="uq_osis_assessment"),
    )
    with op.batch_alter_table("osis_assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_osis_assessment_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "pd_sample",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("nominal_day", sa.Float(), nullable=True),
        sa.Column("actual_day", sa.Float(), nullable=True),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aqp4_igg_titre", sa.String(length=20), nullable=True),
        sa.Column("aqp4_igg_assay", sa.String(length=40), nullable=True),
        sa.Column("cd19_b_cells_per_ul", sa.Float(), nullable=True),
        sa.Column("bcma_plasma_cells_per_ul", sa.Float(), nullable=True),
        sa.Column("igg_g_per_l", sa.Float(), nullable=True),
        sa.Column("iga_g_per_l", sa.Float(), nullable=True),
        sa.Column("igm_g_per_l", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "sampled_at", name="uq_pd_sample"),
    )
    with op.batch_alter_table("pd_sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pd_sample_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "pk_sample",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        sa.Column("assay", sa.String(length=40), nullable=True),
        sa.Column("matrix", sa.String(length=40), nullable=True),
        sa.Column("nominal_day", sa.Float(), nullable=True),
        sa.Column("actual_day", sa.Float(), nullable=True),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("lloq", sa.Float(), nullable=True),
        sa.Column("blq", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "analyte", "sampled_at", name="uq_pk_sample"),
    )
    with op.batch_alter_table("pk_sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pk_sample_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "relapse",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("phenotype", sa.Text(), nullable=True),
        sa.Column("severity", sa.String(length=40), nullable=True),
        sa.Column("lasted_over_24h", sa.Boolean(), nullable=True),
        sa.Column("fever_or_infection", sa.Boolean(), nullable=True),
        sa.Column("objective_change", sa.Boolean(), nullable=True),
        sa.Column("treatment", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("adjudicated", sa.String(length=40), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "onset_date", name="uq_relapse"),
    )
    with op.batch_alter_table("relapse", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relapse_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "screening_result",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("protocol_version", sa.String(length=40), nullable=True),
        sa.Column("engine_version", sa.String(length=40), nullable=True),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "screened_on", name="uq_screening_result"),
    )
    with op.batch_alter_table("screening_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_result_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "therapy",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("therapy", sa.String(length=40), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=True),
        sa.Column("dose", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("route", sa.String(length=20), nullable=True),
        sa.Column("indication", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "therapy", "given_at", name="uq_therapy"),
    )
    with op.batch_alter_table("therapy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapy_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "timed_walk",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trial_1_seconds", sa.Float(), nullable=True),
        sa.Column("trial_2_seconds", sa.Float(), nullable=True),
        sa.Column("unable_to_walk", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", name="uq_timed_walk"),
    )
    with op.batch_alter_table("timed_walk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timed_walk_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "visual_acuity",
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eye", sa.String(length=2), nullable=False),
        sa.Column("acuity", sa.String(length=40), nullable=False),
        sa.Column("notation", sa.String(length=20), nullable=True),
        sa.Column("correction", sa.String(length=20), nullable=True),
        sa.Column("low_contrast", sa.Boolean(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("eye IN ('OD', 'OS')", name="ck_visual_acuity_eye"),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subject.subject_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_id", "assessed_at", "eye", name="uq_visual_acuity"),
    )
    with op.batch_alter_table("visual_acuity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visual_acuity_subject_id"), ["subject_id"], unique=False)
    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table("visual_acuity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visual_acuity_subject_id"))

    op.drop_table("visual_acuity")
    with op.batch_alter_table("timed_walk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timed_walk_subject_id"))

    op.drop_table("timed_walk")
    with op.batch_alter_table("therapy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_therapy_subject_id"))

    op.drop_table("therapy")
    with op.batch_alter_table("screening_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_result_subject_id"))

    op.drop_table("screening_result")
    with op.batch_alter_table("relapse", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relapse_subject_id"))

    op.drop_table("relapse")
    with op.batch_alter_table("pk_sample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pk_sample_subject_id"))

    op.drop_table("pk_sample")
    with op.batch_alter_table("pd_sample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pd_sample_subject_id"))

    op.drop_table("pd_sample")
    with op.batch_alter_table("osis_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_osis_assessment_subject_id"))

    op.drop_table("osis_assessment")
    with op.batch_alter_table("lymphodepletion_administration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lymphodepletion_administration_subject_id"))

    op.drop_table("lymphodepletion_administration")
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_result_subject_id"))

    op.drop_table("lab_result")
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_infusion_subject_id"))

    op.drop_table("infusion")
    with op.batch_alter_table("icans_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_icans_assessment_subject_id"))

    op.drop_table("icans_assessment")
    with op.batch_alter_table("edss_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edss_assessment_subject_id"))

    op.drop_table("edss_assessment")
    with op.batch_alter_table("derived_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_derived_value_subject_id"))

    op.drop_table("derived_value")
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_query_subject_id"))

    op.drop_table("data_query")
    with op.batch_alter_table("crs_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crs_assessment_subject_id"))

    op.drop_table("crs_assessment")
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_event_subject_id"))

    op.drop_table("adverse_event")
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_site_id"))

    op.drop_table("subject")
    op.drop_table("app_user")
    op.drop_table("study")
    op.drop_table("site")
    with op.batch_alter_table("import_manifest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_manifest_sha256"))

    op.drop_table("import_manifest")
    op.drop_table("escalation_decision")
    op.drop_table("data_lock")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")
        batch_op.drop_index("ix_audit_log_record")

    op.drop_table("audit_log")
