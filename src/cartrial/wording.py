"""Counted nouns in the sentences the analysis and the report write (D-19.224): one place that says
"1 infused patient" and "3 infused patients", "1 of 1 infused patient", "the 1 infused patient is not
evaluable" and "none of the 3 infused patients is evaluable" — never "1 patients", "none of the 1" or
"record(s)".

The noun agrees with the number before it: ``k of n <noun>`` takes the noun of n ("0 of 1 infused patient",
"1 of 3 infused patients"); a verb after ``k of n`` agrees with k (`verb`). A phrase whose plural is not the
singular + "s" on its last word ("patient with PK samples" → "patients with PK samples") gives its plural.

>>> count(1, "adverse event"), count(0, "adverse event")
('1 adverse event', '0 adverse events')
>>> k_of_n(1, 1, "infused patient"), k_of_n(2, 3, "infused patient")
('1 of 1 infused patient', '2 of 3 infused patients')
>>> none_of(1, "infused patient", "is evaluable", "is not evaluable")
'the 1 infused patient is not evaluable'
>>> none_of(3, "infused patient", "is evaluable", "is not evaluable")
'none of the 3 infused patients is evaluable'
>>> all_of(1, "infused patient"), all_of(2, "infused patient"), all_of(5, "infused patient")
('the 1 infused patient', 'both infused patients', 'all 5 infused patients')
"""

from __future__ import annotations


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The noun (phrase) that goes with the number `n`: singular for 1, plural otherwise (0 included)."""
    return singular if n == 1 else (plural if plural is not None else f"{singular}s")


def verb(n: int, singular: str, plural: str) -> str:
    """The verb form that agrees with a subject counted `n` ("was"/"were", "agrees"/"agree")."""
    return singular if n == 1 else plural


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 patient", "0 patients", "3 patients"."""
    return f"{n} {noun(n, singular, plural)}"


def k_of_n(k: int, n: int, singular: str, plural: str | None = None) -> str:
    """ "k of n <noun>", the noun agreeing with n: "1 of 1 infused patient", "0 of 12 infused patients"."""
    return f"{k} of {n} {noun(n, singular, plural)}"


def none_of(n: int, singular: str, predicate: str, negated: str, plural: str | None = None) -> str:
    """That nobody of `n` meets `predicate` ("is evaluable"; `negated`: "is not evaluable"), as a clause:
    "no infused patient is evaluable" (n = 0), "the 1 infused patient is not evaluable" (n = 1), "none of
    the 3 infused patients is evaluable" (n ≥ 2)."""
    if n == 0:
        return f"no {singular} {predicate}"
    if n == 1:
        return f"the 1 {singular} {negated}"
    return f"none of the {n} {noun(n, singular, plural)} {predicate}"


def all_of(n: int, singular: str, plural: str | None = None) -> str:
    """Everybody of `n`: "the 1 infused patient", "both infused patients", "all 5 infused patients"; "no
    <noun>" for 0."""
    if n == 0:
        return f"no {singular}"
    if n == 1:
        return f"the 1 {singular}"
    if n == 2:
        return f"both {noun(n, singular, plural)}"
    return f"all {n} {noun(n, singular, plural)}"


__all__ = ["all_of", "count", "k_of_n", "none_of", "noun", "verb"]
