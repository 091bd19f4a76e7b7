"""The organ of a toxicity from its CTCAE term, for the organ conditions of the DLT rules (`DltRule.organs`,
`DltRule.organ_min_grade`).

An adverse event is recorded with its CTCAE v5.0 term (the store has no organ or MedDRA system organ class
column). CTCAE v5.0 lists every term under one MedDRA system organ class (SOC); the organs the DLT rules name
are those SOCs, plus the organ-specific laboratory terms CTCAE files under "Investigations" (liver enzymes
and bilirubin are hepatic, creatinine is renal, ejection fraction, QTc and troponins are cardiac):

- cardiac: Cardiac disorders; skin: Skin and subcutaneous tissue disorders; gastrointestinal: Gastrointestinal
  disorders; hepatic: Hepatobiliary disorders; pulmonary: Respiratory, thoracic and mediastinal disorders;
  renal: Renal and urinary disorders ("renal/genitourinary" in the protocol template).

Terms are matched case-insensitively after folding British spellings to CTCAE's (haem → hem, oedema → edema,
diarrhoea → diarrhea, oesophag → esophag); each SOC's "- Other, specify" term belongs to its organ. A term not
listed has no organ (the DLT assessment says so; a committee-judged rule still covers it).
Source: `ORGAN_SOURCE`; docs/science/decisions.md D-13.7.
"""

from __future__ import annotations

import re

ORGAN_SOURCE = (
    "CTCAE v5.0 (NCI 2017) system organ class of the term (cartrial.protocol.organs; hepatic, renal and "
    "cardiac laboratory terms of Investigations included)"
)

ORGAN_TERMS: dict[str, tuple[str, ...]] = {
    "cardiac": (
        "Aortic valve disease",
        "Asystole",
        "Atrial fibrillation",
        "Atrial flutter",
        "Atrioventricular block complete",
        "Atrioventricular block first degree",
        "Cardiac arrest",
        "Chest pain - cardiac",
        "Conduction disorder",
        "Constrictive pericarditis",
        "Heart failure",
        "Left ventricular systolic dysfunction",
        "Mitral valve disease",
        "Mobitz (type) II atrioventricular block",
        "Mobitz type I",
        "Myocardial infarction",
        "Myocarditis",
        "Palpitations",
        "Paroxysmal atrial tachycardia",
        "Pericardial effusion",
        "Pericardial tamponade",
        "Pericarditis",
        "Pulmonary valve disease",
        "Restrictive cardiomyopathy",
        "Right ventricular dysfunction",
        "Sick sinus syndrome",
        "Sinus bradycardia",
        "Sinus tachycardia",
        "Supraventricular tachycardia",
        "Tricuspid valve disease",
        "Ventricular arrhythmia",
        "Ventricular fibrillation",
        "Ventricular tachycardia",
        "Wolff-Parkinson-White syndrome",
        "Cardiac disorders - Other, specify",
        # Investigations
        "Cardiac troponin I increased",
        "Cardiac troponin T increased",
        "Ejection fraction decreased",
        "Electrocardiogram QT corrected interval prolonged",
    ),
    "skin": (
        "Alopecia",
        "Body odor",
        "Bullous dermatitis",
        "Dry skin",
        "Erythema multiforme",
        "Erythroderma",
        "Fat atrophy",
        "Hirsutism",
        "Hyperhidrosis",
        "Hyperkeratosis",
        "Hypertrichosis",
        "Hypohidrosis",
        "Lipohypertrophy",
        "Nail changes",
        "Nail discoloration",
        "Nail loss",
        "Nail ridging",
        "Pain of skin",
        "Palmar-plantar erythrodysesthesia syndrome",
        "Periorbital edema",
        "Photosensitivity",
        "Pruritus",
        "Purpura",
        "Rash acneiform",
        "Rash maculo-papular",
        "Scalp pain",
        "Skin atrophy",
        "Skin hyperpigmentation",
        "Skin hypopigmentation",
        "Skin induration",
        "Skin ulceration",
        "Stevens-Johnson syndrome",
        "Telangiectasia",
        "Toxic epidermal necrolysis",
        "Urticaria",
        "Skin and subcutaneous tissue disorders - Other, specify",
    ),
    "gastrointestinal": (
        "Abdominal distension",
        "Abdominal pain",
        "Anal fistula",
        "Anal hemorrhage",
        "Anal mucositis",
        "Anal pain",
        "Ascites",
        "Bloating",
        "Cheilitis",
        "Colitis",
        "Colonic hemorrhage",
        "Colonic obstruction",
        "Colonic perforation",
        "Constipation",
        "Dental caries",
        "Diarrhea",
        "Dry mouth",
        "Duodenal hemorrhage",
        "Duodenal ulcer",
        "Dyspepsia",
        "Dysphagia",
        "Enterocolitis",
        "Esophageal hemorrhage",
        "Esophageal pain",
        "Esophageal ulcer",
        "Esophagitis",
        "Flatulence",
        "Gastric hemorrhage",
        "Gastric ulcer",
        "Gastritis",
        "Gastroesophageal reflux disease",
        "Gastrointestinal pain",
        "Gastroparesis",
        "Gingival pain",
        "Hemorrhoids",
        "Ileus",
        "Lower gastrointestinal hemorrhage",
        "Mucositis oral",
        "Nausea",
        "Oral pain",
        "Pancreatitis",
        "Rectal hemorrhage",
        "Small intestinal obstruction",
        "Stomach pain",
        "Typhlitis",
        "Upper gastrointestinal hemorrhage",
        "Vomiting",
        "Gastrointestinal disorders - Other, specify",
    ),
    "hepatic": (
        "Bile duct stenosis",
        "Biliary fistula",
        "Cholecystitis",
        "Gallbladder obstruction",
        "Hepatic failure",
        "Hepatic hemorrhage",
        "Hepatic necrosis",
        "Hepatic pain",
        "Portal hypertension",
        "Portal vein thrombosis",
        "Sinusoidal obstruction syndrome",
        "Hepatobiliary disorders - Other, specify",
        # Investigations
        "Alanine aminotransferase increased",
        "Alkaline phosphatase increased",
        "Aspartate aminotransferase increased",
        "Blood bilirubin increased",
        "GGT increased",
    ),
    "pulmonary": (
        "Adult respiratory distress syndrome",
        "Allergic rhinitis",
        "Apnea",
        "Aspiration",
        "Atelectasis",
        "Bronchial obstruction",
        "Bronchopulmonary hemorrhage",
        "Bronchospasm",
        "Cough",
        "Dyspnea",
        "Epistaxis",
        "Hiccups",
        "Hoarseness",
        "Hypoxia",
        "Laryngeal edema",
        "Laryngospasm",
        "Nasal congestion",
        "Pharyngolaryngeal pain",
        "Pleural effusion",
        "Pleuritic pain",
        "Pneumonitis",
        "Pneumothorax",
        "Postnasal drip",
        "Productive cough",
        "Pulmonary edema",
        "Pulmonary fibrosis",
        "Pulmonary hypertension",
        "Respiratory failure",
        "Sore throat",
        "Wheezing",
        "Respiratory, thoracic and mediastinal disorders - Other, specify",
    ),
    "renal": (
        "Acute kidney injury",
        "Bladder spasm",
        "Chronic kidney disease",
        "Cystitis noninfective",
        "Hematuria",
        "Proteinuria",
        "Renal calculi",
        "Renal colic",
        "Renal hemorrhage",
        "Urinary fistula",
        "Urinary frequency",
        "Urinary incontinence",
        "Urinary retention",
        "Urinary tract obstruction",
        "Urinary tract pain",
        "Urinary urgency",
        "Urine discoloration",
        "Renal and urinary disorders - Other, specify",
        # Investigations
        "Creatinine increased",
    ),
}
"""CTCAE v5.0 terms per organ of the DLT rules (see the module docstring)."""

_SPELLINGS = (("haem", "hem"), ("oedema", "edema"), ("diarrhoea", "diarrhea"), ("oesophag", "esophag"))


def _fold(term: str) -> str:
    text = re.sub(r"\s+", " ", term.strip().lower())
    for british, american in _SPELLINGS:
        text = text.replace(british, american)
    return text


_BY_TERM: dict[str, str] = {_fold(t): organ for organ, terms in ORGAN_TERMS.items() for t in terms}


def term_key(term: str) -> str:
    """An adverse-event term as terms are compared (`organ_of`, the analysis' TEAE tables by term, D-19.927):
    case, runs of spaces and the British spellings of `_SPELLINGS` folded, so that "Haemorrhage",
    "hemorrhage" and "HEMORRHAGE" are one term — the verbatim text differs, the CTCAE term does not.

    >>> term_key("  Lymphocyte  count Decreased"), term_key("Haemorrhage") == term_key("HEMORRHAGE")
    ('lymphocyte count decreased', True)
    """
    return _fold(term)


def organ_of(term: str) -> str | None:
    """The organ of a CTCAE v5.0 term (`ORGAN_TERMS`), or None when the term is not listed.

    >>> organ_of("Alanine aminotransferase increased"), organ_of("diarrhoea"), organ_of("Fatigue")
    ('hepatic', 'gastrointestinal', None)
    """
    return _BY_TERM.get(_fold(term))


def organ_key(name: str) -> str:
    """An organ as a DLT rule names it (`DltRule.organs`, the keys of `DltRule.organ_min_grade`), in the form
    of `ORGAN_TERMS` and `organ_of`: a rule's organs are matched case-insensitively, surrounding spaces
    ignored. The one comparison of the protocol's checks and the DLT assessment.

    >>> organ_key(" Cardiac ")
    'cardiac'
    """
    return name.strip().lower()


__all__ = ["ORGAN_SOURCE", "ORGAN_TERMS", "organ_key", "organ_of", "term_key"]
