"""AI Act views: the art. 27 FRIA (answers of FRIA-flagged questions per element) and the art. 5 screening."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from iama.document import RecordDocument
from iama.exports.view import answer_lines, questionnaire_for
from iama.schema import Text

ART27_ELEMENTS: dict[str, Text] = {
    "a": Text(
        nl="De processen van de gebruiksverantwoordelijke waarin het systeem wordt gebruikt",
        en="The deployer's processes in which the system is used, in line with its intended purpose",
    ),
    "b": Text(nl="De periode en frequentie van gebruik", en="The period and frequency of use"),
    "c": Text(
        nl="De categorieën personen en groepen die geraakt kunnen worden",
        en="The categories of natural persons and groups likely to be affected",
    ),
    "d": Text(
        nl="De specifieke risico's op schade voor die categorieën", en="The specific risks of harm to those categories"
    ),
    "e": Text(nl="Hoe menselijk toezicht is ingericht", en="How human oversight is implemented"),
    "f": Text(
        nl="Maatregelen als risico's zich voordoen, interne governance en klachtenregeling",
        en="Measures if the risks materialise, internal governance and complaint mechanisms",
    ),
}

# Art. 5(1) prohibited practices, with what in this system's design rules each one out.
ART5_PRACTICES: tuple[tuple[str, Text, Text], ...] = (
    (
        "5(1)(a)",
        Text(nl="Subliminale of manipulatieve technieken", en="Subliminal or manipulative techniques"),
        Text(
            nl="Het systeem stuurt een signaal naar een BOA; het spreekt de mensen in beeld nooit aan en beïnvloedt "
            "hen niet.",
            en="The system sends a signal to an officer; it never addresses or influences the people in view.",
        ),
    ),
    (
        "5(1)(b)",
        Text(
            nl="Misbruik van kwetsbaarheden (leeftijd, beperking, sociale situatie)",
            en="Exploiting vulnerabilities of age, disability or social situation",
        ),
        Text(
            nl="Geen interactie met mensen in beeld; geen gerichte inzet op groepen.",
            en="No interaction with people in view; no targeting of groups.",
        ),
    ),
    (
        "5(1)(c)",
        Text(nl="Sociale scoring", en="Social scoring"),
        Text(
            nl="Niemand wordt geïdentificeerd of gescoord; alerts bevatten geen identiteit en geen spoor leeft langer "
            "dan één incident.",
            en="No person is identified or scored; alerts carry no identity and no track outlives an incident.",
        ),
    ),
    (
        "5(1)(d)",
        Text(
            nl="Voorspellen van strafbaar gedrag op basis van profilering",
            en="Predicting crime risk from profiling alone",
        ),
        Text(
            nl="De detector herkent één zichtbare handeling (een ballon bij de mond) nu; hij voorspelt niets over een "
            "persoon.",
            en="The detector recognises one visible act (a balloon at the mouth) now; it makes no "
            "prediction about a person.",
        ),
    ),
    (
        "5(1)(e)",
        Text(
            nl="Gezichtsherkenningsdatabanken uit internet- of camerabeelden",
            en="Facial-recognition databases from scraping internet or CCTV footage",
        ),
        Text(
            nl="Er worden geen gezichten opgeslagen of vergeleken; beelden verlaten het geheugen van het apparaat "
            "nooit.",
            en="No faces are stored or matched; frames never leave the device's memory.",
        ),
    ),
    (
        "5(1)(f)",
        Text(nl="Emotieherkenning op het werk of in het onderwijs", en="Emotion inference at work or in education"),
        Text(nl="Geen emotieherkenning; alleen openbare ruimte.", en="No emotion inference; public space only."),
    ),
    (
        "5(1)(g)",
        Text(
            nl="Biometrische categorisering naar ras, politieke opvatting, vakbond, geloof of seksuele geaardheid",
            en="Biometric categorisation by race, politics, union, religion or sexual orientation",
        ),
        Text(
            nl="Geen biometrische categorisering; het alertschema heeft geen veld voor enig persoonskenmerk.",
            en="No biometric categorisation; the alert schema has no field for any personal characteristic.",
        ),
    ),
    (
        "5(1)(h)",
        Text(
            nl="Real-time biometrische identificatie op afstand in de openbare ruimte voor rechtshandhaving",
            en="Real-time remote biometric identification in public spaces for law enforcement",
        ),
        Text(
            nl="Geen identificatie: een alert zegt wanneer, welke zone, hoe zeker en hoeveel mensen (een klasse).",
            en="No identification: the alert says when, which zone, how confident and how many people (a bucket).",
        ),
    ),
)


class FriaItem(BaseModel):
    """One FRIA-flagged question and its answer."""

    model_config = ConfigDict(extra="forbid")

    question_id: str
    question: str
    answer: list[str]


class FriaElement(BaseModel):
    """One element of art. 27(1) with the answers that cover it."""

    model_config = ConfigDict(extra="forbid")

    element: str
    description: str
    items: list[FriaItem]


class Art5Line(BaseModel):
    """One prohibited practice and why it does not apply."""

    model_config = ConfigDict(extra="forbid")

    article: str
    practice: str
    design_evidence: str


class Art5Screening(BaseModel):
    """The art. 5 screening summary of a record."""

    model_config = ConfigDict(extra="forbid")

    screened: bool
    prohibited_practice: str | None
    explanation: str
    alert_fields: list[str]
    practices: list[Art5Line]


def art27_view(document: RecordDocument) -> list[FriaElement]:
    """The FRIA-flagged answers, grouped by art. 27(1) element (a)–(f)."""
    questionnaire = questionnaire_for(document)
    answers = document.answer_map()
    lang = document.record.language
    elements = []
    for element, description in ART27_ELEMENTS.items():
        items = [
            FriaItem(question_id=q.id, question=q.text.get(lang), answer=answer_lines(q, answers.get(q.id), lang))
            for q in questionnaire.questions()
            if q.fria and q.fria_element == element
        ]
        elements.append(FriaElement(element=element, description=description.get(lang), items=items))
    return elements


def _practices(lang: str) -> list[Art5Line]:
    return [Art5Line(article=a, practice=p.get(lang), design_evidence=e.get(lang)) for a, p, e in ART5_PRACTICES]


def art5_screening(document: RecordDocument, alert_fields: list[str]) -> Art5Screening:
    """The art. 5 screening: the record's answer to the gate question plus the design evidence per practice."""
    answers = document.answer_map()
    questionnaire = questionnaire_for(document)
    lang = document.record.language
    gate_ids = [q.id for q in questionnaire.questions() if any(o.blocks for o in getattr(q, "options", ()))]
    if not gate_ids:
        explanation = f"{questionnaire.id} has no art. 5 gate question; the screening below rests on design only."
        return Art5Screening(
            screened=False,
            prohibited_practice=None,
            explanation=explanation,
            alert_fields=alert_fields,
            practices=_practices(lang),
        )
    gate = gate_ids[0]
    value = answers.get(gate)
    explanation = "; ".join(answer_lines(questionnaire.question(gate), value, lang)) or "not answered"
    return Art5Screening(
        screened=value is not None,
        prohibited_practice=value,
        explanation=f"{gate}: {explanation}",
        alert_fields=alert_fields,
        practices=_practices(lang),
    )
