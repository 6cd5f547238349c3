"""Finding commitments a reply makes: the vocabulary and clause logic behind `PromiseGuard`.

A reply is cut into sentences (questions are dropped), sentences into parts at contrastive
conjunctions ("but", "pero", "mais", "aber", "mas"), and parts into clauses at commas,
colons, dashes and "and". A commitment is found when a clause names one (a TERM: "refund",
"descuento", "avoir", "Gutschrift", "waive the fee", "guarantee ... within 2 hours") and a
promise or completion MARKER applies to it: in its own clause, else the nearest clause of
the same part that has one ("I've issued" / "has been processed" / "you'll receive" /
"here's"). The commitment is not counted when the term's clause or the marker's clause is
negated ("can't", "no", "ne ... pas", "kein", "não") or hedged or descriptive (a request
or check, "may", "whether", "eligible", "policy", "who decides"), or when the clause's
subject is the commitment in general ("Refunds are ..."). A waiver worded as a negation
("we won't charge you the fee", "ne vous facturerons pas les frais") is a promise of its
own that only a hedge cancels.

Everything is matched on a folded copy of the text (lower case, no accents, one character
per character), so spans are offsets into the original text.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import regex

COMMITMENTS: frozenset[str] = frozenset({"refund", "discount", "credit", "sla_exception"})


def _any(*patterns: str) -> str:
    return "(?:" + "|".join(patterns) + ")"


def _words(*patterns: str, elision: str = "") -> regex.Pattern[str]:
    """Alternatives that each start at a word boundary and end at one.

    ``elision`` is an alternative that ends in an apostrophe ("n'"), so the next word
    follows it directly.
    """
    pattern = r"(?<!\w)" + _any(*patterns) + r"(?!\w)"
    return regex.compile(pattern + (rf"|(?<!\w){elision}" if elision else ""))


# --- terms: what can be committed to ----------------------------------------------------

_WINDOW = r"(?:\s+\S+){0,4}?\s+"  # up to four words between two parts of one term
_FEE = _any(
    r"fees?",
    r"penalt(?:y|ies)",
    r"surcharges?",
    r"late charges?",
    r"\w*gebu(?:h)?r\w*",
    r"\w*strafe\w*",
    r"zuschlag\w*",
    r"mahnkosten",
    r"frais",
    r"penalites?",
    r"majorations?",
    r"penalizac\w*",
    r"penalidad\w*",
    r"recargos?",
    r"comision\w*",
    r"multas?",
    r"taxas?",
    r"encargos?",
)
_REMOVE = _any(  # verb forms, not nouns ("cancellation fee" is no waiver)
    r"remov(?:e|ed|ing)",
    r"cancel(?:s|l?ed|l?ing)?",
    r"drop(?:s|ped|ping)?",
    r"revers(?:e|ed|ing)",
    r"forgiv(?:e|en|ing)",
    r"void(?:ed|ing)?",
    r"wip(?:e|ed|ing)",
    r"writ(?:e|ten|ing) off",
    r"scrap(?:ped|ping)?",
    r"refund(?:ed|ing)?",
    r"(?:tak(?:e|en|ing)|knock(?:ed|ing)?) off",
    r"(?:anul|elimin|quit|retir|condon|perdon|exim|suprim|supprim|annul|renonc|exoner|dispens"
    r"|isent|perdo|remov|cancel|storn|streich|entfern|erlass|erlies|verzicht)"
    r"(?!\w*(?:cion|ciones|cao|coes|tion|ung|ungen)(?!\w))\w*",
    r"gestrichen",
    r"offr\w*",
)
_REMOVED = _any(
    r"waived",
    r"removed",
    r"cancell?ed",
    r"dropped",
    r"reversed",
    r"forgiven",
    r"voided",
    r"wiped",
    r"written off",
    r"refunded",
    r"(?:anul|elimin|condon|retir|cancel|perdo|isent|dispens|estorn|exim)ad[oa]s?",
    r"(?:annul|supprim|retir|rembours|exoner)ee?s?",
    r"offerte?s?",
    r"storniert",
    r"gestrichen",
    r"entfernt",
    r"erlassen",
    r"entfall(?:t|en)",
    r"entfiel",
    r"(?:zuruck)?erstattet",
)
_TIME = _any(
    r"\d+(?:[.,]\d+)?\s*(?:(?:-|to|a|bis|ou|o)\s*\d+\s*)?-?\s*"
    r"(?:h|hrs?|hours?|mins?|minutes?|(?:business |working )?days?|horas?|minutos?"
    r"|dias?(?: (?:habiles|uteis))?|heures?|jours?(?: ouvres| ouvrables)?|std|stunden?"
    r"|minuten?|tagen?|tage|werktag\w*)",
    r"today|tomorrow|tonight|same[- ]day|end of (?:the )?day|eod|next business day",
    r"within the hour|hoy|manana|en el dia|hoje|amanha|no mesmo dia|aujourd'hui|demain",
    r"dans la journee|dans l'heure|heute|morgen|noch heute|innerhalb einer stunde",
    r"(?:by|before|until) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|noon)",
)
_FIX = _any(
    r"fix\w*",
    r"resol\w*",
    r"response",
    r"respond\w*",
    r"repl(?:y|ies)",
    r"repair\w*",
    r"respuesta",
    r"solucion\w*",
    r"reponse",
    r"correctif",
    r"repar\w*",
    r"intervention",
    r"antwort\w*",
    r"losung",
    r"behoben",
    r"beheb\w*",
    r"reaktionszeit",
    r"resposta",
    r"solucao",
    r"correcao",
    r"atendimento",
)
_GUARANTEE = r"(?:guarantee\w*|garant\w*|zugesichert|zusichern)"
_PROMISE_WORD = r"(?:promis\w*|prometo|prometemos|promets|promettons|verspreche\w*|versprochen)"
_EXPEDITE = (
    r"(?:expedit\w*|prioriti[sz]\w*|fast[- ]track\w*|rush\w*|aceler\w*|agiliz\w*|prioriz\w*"
    r"|accelere\w*|beschleunig\w*|priorisier\w*)"
)
_TERMS: dict[str, regex.Pattern[str]] = {
    "refund": _words(
        r"(?<!non[- ])refund\w*",
        r"reimburs\w*",
        r"money back",
        r"(?:money|funds|payment|amount)(?:\s+\S+){0,3}?\s+(?:returned|back|refunded)",
        r"return\w*(?:\s+\S+){0,2}?\s+(?:money|funds|payment|amount)",
        r"pa(?:id|y you) back",
        r"(?:revers|void)\w*" + _WINDOW + r"(?:charge|payment|transaction)s?",
        r"reembols\w*",
        r"reintegr\w*",
        r"estorn\w*",
        r"ressarc\w*",
        r"devolu(?:cion|ciones|cao|coes) (?:del?|da|do|de su|de tu) "
        r"(?:dinero|importe|pago|cobro|cargo|valor|pagamento|montante)",
        r"devolv\w*(?:-\w+)?"
        + _WINDOW
        + r"(?:dinero|importe|pago|cobro|cargo|valor|pagamento|montante)",
        r"\w*rembours\w*",
        r"\w*erstatt\w*",
        r"(?:zu)?ruck(?:zahl|uberweis|uberwies|gezahlt|gebucht|buch)\w*",
        r"geld zuruck",
    ),
    "discount": _words(
        r"discount\w*",
        r"\d+\s?(?:%|percent|per cent) (?:off|lower|less|cheaper)",
        r"(?:price|bill) reduction",
        r"(?:reduced|lower|cheaper) (?:price|rate|bill|invoice)s?",
        r"promo(?:tional)? code",
        r"coupons?",
        r"rebates?",
        r"money off",
        r"descuento\w*",
        r"rebaja\w*",
        r"cupon\w*",
        r"codigo (?:de descuento|promocional)",
        r"\d+\s?%\s*(?:de\s+)?(?:descuento|desconto|menos)",
        r"remises?(?!\s+(?:en|a)(?!\w))",
        r"reductions?",
        r"rabais",
        r"ristournes?",
        r"code promo\w*",
        r"\w*rabatt\w*",
        r"\w*nachlass\w*",
        r"erma(?:ss|ß)ig\w*",
        r"skonto",
        r"preisminderung",
        r"desconto\w*",
        r"abatimento\w*",
        r"cupo(?:m|ns|es)",
        r"cupao",
    ),
    "credit": _words(
        r"(?<!(?:tarjeta|carte|cartao|carta) de )credit\w*"
        r"(?!\s+(?:cards?|score|check|limit|report|union|rating|history|line)(?!\w))",
        r"vouchers?",
        r"gift ?cards?",
        r"free (?:months?|weeks?|years?|upgrades?|subscription|plan)",
        r"(?:months?|weeks?|years?) (?:for )?free",
        r"(?:months?|weeks?)(?: of \w+)? (?:on us|on the house|free of charge"
        r"|at no (?:extra |additional )?(?:cost|charge))",
        r"complimentary \w+",
        r"comp(?:ed|ped|ing)",
        r"saldo (?:a (?:su|tu|seu|vosso) favor|em conta)",
        r"(?:un|el|su|tu|um|o|seu) vales?",
        r"vales?[- ](?:regalo|de compra|presente|compras|desconto|descuento)",
        r"tarjetas? regalo",
        r"cart(?:ao|oes)[- ]presente",
        r"mes(?:es)? (?:de servicio |de servico )?"
        r"(?:gratis|gratuit[oa]s?|sin (?:coste|costo|cargo)|sem custo|oferecid[oa]s?|de regalo)",
        r"bonificac\w*",
        r"bonus",
        r"bonos?",
        r"abon(?:ar|are|aremos|amos)(?:le|les|te)?",
        r"abonad[oa]s? en",
        r"(?:un|d'un|votre|cet) ?avoirs?",
        r"bons? (?:d'achat|cadeau)",
        r"cartes? cadeau",
        r"mois (?:gratuit|offert)\w*",
        r"geste commercial",
        r"\w*gutschrift\w*",
        r"gutgeschrieben",
        r"gut(?:zu)?schreiben",
        r"schreiben" + _WINDOW + "gut",
        r"\w*guthaben\w*",
        r"\w*gutschein\w*",
        r"(?:gratis|kostenlos\w*|frei\w*) monat\w*",
        r"monat\w* (?:gratis|kostenlos|kostenfrei|geschenkt)",
        r"(?:gratis|frei)monat\w*",
    ),
    "sla_exception": _words(
        r"waiv\w*",
        r"exoner\w*",
        r"condon\w*",
        r"isen(?:cao|coes|tar\w*|tamos|tei|t[oa]s?)",
        _REMOVE
        + _WINDOW
        + r"(?:(?:the|your|any|la|el|los|las|le|les|a|o|as|os|die|der|den)\s+)?"
        + _FEE,
        _FEE + r"(?:\s+\S+){0,5}?\s+" + _REMOVED,
        _GUARANTEE + r"(?:\s+\S+){0,8}?\s+" + _any(_TIME, _FIX),
        _any(_TIME, _FIX) + r"(?:\s+\S+){0,3}?,?\s+" + _GUARANTEE,
        _PROMISE_WORD + r"(?:\s+\S+){0,8}?\s+" + _TIME,
        _EXPEDITE + r"(?:\s+\S+){0,8}?\s+" + _GUARANTEE,
        _GUARANTEE + r"(?:\s+\S+){0,8}?\s+" + _EXPEDITE,
        r"(?:sla|service level) (?:exception|waiver)",
        r"exception to (?:our|the|your) (?:sla|service level)\w*",
        r"(?:outside|beyond) (?:of )?(?:our|the|your) (?:sla|service level)\w*",
    ),
}

# --- markers: wording that promises, offers or reports as done ---------------------------

_EN_AUX = _any(
    r"will|'ll|shall|would|'d|can|could|may|might|can't|cannot|couldn't|won't|wouldn't",
    r"don't|didn't|haven't|hasn't|have|'ve|has|had|am|'m|are|'re|is|be|been|being|not|never",
    r"just|already|now|also|gladly|happily|personally|immediately|quickly|today|definitely",
    r"certainly|(?:happy|glad|pleased|delighted|able|unable|like|love|want|wanted|going) to",
    r"gonna|(?:gone|went|go) ahead and|proceed(?:ed)? to|more than|only|still|fully|manually",
    r"successfully|instead|actually|do|did|does|to|both|then|so|kindly|promptly",
)
_EN_VERB = (
    r"(?:issu|process|refund|reimburs|credit|appl(?:y|ied|ies|ying)|add|giv|gave|grant|offer"
    r"|send|sent|waiv|approv|authori[sz]|provid|extend|honou?r|arrang|comp(?:ed|ped)?(?!\w)"
    r"|cover|remov|cancel|drop|revers|expedit|guarantee|promis|initiat|transfer|deposit"
    r"|includ|throw|threw|load|activat|upgrad|pay|paid|put|knock|tak(?:e|en|ing)|took|zero"
    r"|forgiv|void|writ|match|discount|lower|reduc|cut|return|set(?:ting)?(?!\w)|make sure|ensur"
    r"|see to it)\w*"
)
_EN_PART = (
    r"(?:issued|processed|refunded|reimbursed|credited|applied|added|approved|granted"
    r"|waived|initiated|reversed|deposited|transferred|removed|cancell?ed|expedited"
    r"|authori[sz]ed|completed|released|sent|returned|put through|honou?red|arranged"
    r"|extended|comped|paid(?: back| out)?|given|loaded|activated|discounted|reduced"
    r"|lowered|taken off|knocked off|written off|zeroed|voided|forgiven|guaranteed)(?!\w)"
)
_ADVERBS = r"(?:(?:now|already|just|also|successfully|fully|automatically|then|been)\s+)*"
# Spanish and Portuguese verb stems for first-person and participle forms.
_ROM = (
    r"(?:reembols|aplic|apliqu|proces|process|emit|anad|agreg|adicion|acredit|credit|abon"
    r"|conced|ofrec|ofrezc|oferec|ofere|otorg|otorgu|devolv|devuelv|garantiz|garantic|garant"
    r"|anul|condon|exim|exoner|isent|dispens|cancel|elimin|quit|retir|remov|transfer|deposit"
    r"|liber|regal|bonific|bonifiqu|estorn|ressarc|reintegr|descont|rebaj|acrescent"
    r"|proporcion|gestion|tramit|autoriz|autoric|aprob|aprov|realiz|efectu|efetu|concret|proced)"
)
_ROM_INF = _ROM + r"(?:ar|er|ir)(?:-?(?:le|les|te|lo|la|los|las|se|selo|sela|lhe|lhes))?"
_ROM_PART = _any(
    _ROM + r"(?:ad|id)[oa]s?", r"devuelt[oa]s?", r"hech[oa]s?", r"feit[oa]s?", r"dad[oa]s?"
)
_FR_FILL = _any(
    r"vous|te|t'|lui|leur|l'|les|en|y|ai|avons|a|as|vais|allons|va|peux|pouvons|peut",
    r"pourrai|pourrons|vien[st] d[e']|venons d[e']|suis|sommes|heureu(?:x|se) d[e']|ravie?s? de",
    r"le plaisir d[e']|bien|deja|egalement|aussi|immediatement|tout de suite|ne|n'|pas|pu",
    r"souhaite|souhaitons|tiens a|tenons a|me permets de|nous permettons de|d'|de",
)
_FR_VERB = (
    r"(?:rembours|accord|appliqu|credit|offr|offert|ajout|effectu|emi[st](?!\w)|emettr|trait"
    r"|proced|annul|supprim|exoner|dispens|envoy|enverr|valid|approuv|garanti|promet|promis"
    r"|donn|fai[st](?!\w)|fait|initi|lanc|vers|propos|consent|octroy|rendr|rend|reduir|baiss"
    r"|retir|ristourn|debloq|attribu|renon)\w*"
)
_FR_PART = (
    r"(?:rembourse|accorde|applique|credite|offert|ajoute|effectue|emis|traite|annule"
    r"|supprime|valide|approuve|verse|envoye|initie|lance|exonere|octroye|debloque|garanti)\w*"
)
_DE_VERB = (
    r"(?:(?:zuruck)?erstatt(?:e|en|et|ete|eten)|gutgeschrieben|gut(?:zu)?schreiben|gut"
    r"|gewahr(?:e|en|t|te|ten)|angewendet|angewandt|anwenden|angewiesen|anweisen|veranlasst"
    r"|veranlassen|ausgestellt|ausstellen|bearbeitet|storniert|stornieren|erlassen|erlasse"
    r"|(?:zuruck)?uberwiesen|uberweisen|gebucht|buchen|hinzugefugt|hinzufugen|gegeben|geben"
    r"|gebe|anbieten|angeboten|biete|bieten|schenken|geschenkt|schenke|verzichte\w*"
    r"|garantiere\w*|zusichern|zugesichert|freigegeben|freigeben|genehmigt|genehmigen"
    r"|eingeleitet|einleiten|ausgezahlt|auszahlen|zuruckgezahlt|zuruckzahlen|gestrichen"
    r"|streichen|entfernt|entfernen|eingeraumt|einraumen|aufgebucht|sende|senden|gesendet"
    r"|geschickt|schicken|zukommen|aktiviert|aktivieren|gezahlt|reduziert|reduzieren"
    r"|gesenkt|abgezogen|abziehen|verrechnet|verrechnen|vorgenommen|vornehmen"
    r"|durchgefuhrt|durchfuhren|ubernehmen|ubernommen|veranlasse|storniere|uberweise|buche"
    r"|entferne|streiche|reduziere|aktiviere|zahle|schicke|hinzu)"
)
_DE_PART = (
    r"(?:(?:zuruck)?erstattet|gutgeschrieben|gewahrt|angewendet|angewandt|angewiesen"
    r"|veranlasst|ausgestellt|bearbeitet|storniert|erlassen|(?:zuruck)?uberwiesen|gebucht"
    r"|hinzugefugt|freigegeben|genehmigt|eingeleitet|ausgezahlt|zuruckgezahlt|gestrichen"
    r"|entfernt|eingeraumt|aktiviert|reduziert|abgezogen|verrechnet|vorgenommen"
    r"|durchgefuhrt|garantiert)"
)
_MARKER = _words(
    # English: "I've issued", "we'll apply", "let me add", "billing will process",
    # "has been refunded", "you'll receive", "here's", "enjoy", "on us".
    r"(?:i|we)(?:'ll|'ve|'m|'re|'d)?(?:\s+" + _EN_AUX + r")*\s+" + _EN_VERB,
    r"(?:let me|allow me to)\s+(?:just\s+)?" + _EN_VERB,
    r"(?:will|'ll|shall|going to|gonna)(?:\s+(?:also|now|then|be|automatically|soon|still|"
    r"just|get|definitely|certainly))*\s+(?:"
    + _EN_VERB
    + r"|(?:arriv|appear|show|reflect|land|post|hit|reach)\w*)",
    r"(?:has|have|had|'ve|'s)\s+" + _ADVERBS + _EN_PART,
    r"(?:was|were|is now|are now|is already|are already|will be|'ll be|should be|is being"
    r"|are being|got|get|gets)\s+" + _ADVERBS + _EN_PART,
    r"(?:refund|credit|discount|voucher|fee)s?\s+(?:successfully\s+)?(?:issued|processed"
    r"|applied|approved|granted|waived|initiated|added)",
    r"you(?:'ll|'ve|'re|'d)?(?:\s+(?:will|shall|should|are going to|are|have|now|also|then"
    r"|soon|automatically|still|just|already|can expect to|will be able to|'ll be able to))*"
    r"\s+(?:receive|get|see|be (?:refunded|credited|reimbursed|compensated)|been (?:refunded"
    r"|credited|reimbursed|given|issued|compensated)|received|got|have (?:a|an|your)|getting"
    r"|receiving|now have)",
    r"here(?:'s| is| are)|enjoy|on us|on the house|courtesy|complimentary|goodwill",
    r"as a (?:\w+\s+)?(?:gesture|thank[- ]you|token)",
    r"use (?:the |this |promo |discount |coupon )?code",
    r"code\s*(?:is|:)?\s*[\"'“]?(?=[a-z-]*\d)[a-z0-9-]{4,}",
    r"on (?:its|their) way|(?:is|are) yours",
    r"guaranteed|garantizad[oa]s?|garantid[oa]s?|garantiert",
    # Spanish and Portuguese: "hemos reembolsado", "le aplicaremos", "processei",
    # "vamos aplicar", "puedo ofrecerle", "ha sido procesado", "recibirá", "aquí tiene".
    _ROM + r"(?:amos|emos|imos|are|aremos|ere|eremos|ire|iremos|ei|arei|erei|irei|i)",
    r"(?:le|te|les|lhe|lhes|se lo|se la|se le|yo|eu|ya|ja)\s+(?:(?:lo|la|le|te|ya|ja)\s+)?"
    + _ROM
    + "[oe]",
    r"(?:le|te|les|lhe|lhes|vos|nos)\s+(?:dare|daremos|damos|doy|dei|demos|darei|dou)",
    r"fiz|fizemos|hice|hicimos",
    r"(?:voy|vamos|iremos|vou|irei|puedo|podemos|posso|quiero|queremos|quero|acabo de"
    r"|acabamos de|acabei de|procedo a|procedemos a|procedi a|procedimos a|me complace"
    r"|nos complace|tengo el gusto de|tenemos el gusto de|con gusto|encantad[oa]s? de"
    r"|temos o prazer de|tenho o prazer de|fico feliz em|ficamos felizes em|gostaria de"
    r"|gostariamos de|me gustaria|nos gustaria|hemos decidido|estoy|estamos|estou)"
    r"\s+(?:a\s+)?(?:(?:le|te|les|lhe|lhes|se lo|se la|ya|ja)\s+)?"
    + _any(_ROM_INF, _ROM + r"(?:ando|iendo|endo)"),
    r"(?:he|hemos|ha|han|habia|habiamos|fue|fueron|sera|seran|esta|estan|queda|quedo|quedara"
    r"|quedan|foi|foram|serao|estao|tem sido|ficou|ficaram|fica|ficara)\s+"
    r"(?:(?:sido|ya|ja|correctamente|corretamente|debidamente|devidamente)\s+)*" + _ROM_PART,
    r"(?:recibira|recibiras|recibiran|veras|vera|obtendra|obtendras|tendras?(?!\s+(?:que|de))"
    r"|dispondras?|disfrut\w*|contaras? con|recebera|receberas|vai receber|vais receber"
    r"|ira receber|vai ver|teras?(?!\s+(?:que|de))|vai ter|aproveite|aproveita|desfrute"
    r"|desfruta|usufrua)",
    r"aqui (?:tiene|tienes|esta|estan|tem)|seguem? (?:o|a|um|uma|seu|sua)",
    r"de regalo|de cortesia|como (?:cortesia|gesto)|por cortesia|gesto de buena voluntad",
    r"en camino|a caminho",
    # French: "je vous ai remboursé", "nous allons appliquer", "a été crédité",
    # "vous recevrez", "voici".
    r"(?:je|j'|nous|on(?=\s+(?:vous|t'|te|l'|lui)))(?:(?<=')\s*|\s+)(?:"
    + _FR_FILL
    + r"(?:(?<=')\s*|\s+))*"
    + _FR_VERB,
    r"(?:a|ont|avez|as|ai|avons|sera|seront|est|sont|serez)\s+(?:(?:bien|deja|egalement"
    r"|desormais|maintenant|ete|en cours de)\s+)*" + _FR_PART,
    r"vien(?:t|nent) d'etre\s+" + _FR_PART,
    r"vous (?:recevrez|obtiendrez|beneficierez|beneficiez|aurez|verrez|serez (?:rembourse"
    r"|credite)\w*|allez (?:recevoir|obtenir|beneficier|voir|etre (?:rembourse|credite)\w*)"
    r"|devriez (?:recevoir|voir)|avez (?:ete (?:rembourse|credite|dedommage)\w*|recu|obtenu))",
    r"profitez|voici|cadeau|a titre (?:commercial|gracieux|exceptionnel)|en route|en chemin",
    # German: "ich habe Ihnen ... erstattet", "gerne erstatten wir", "wurde gutgeschrieben",
    # "Sie erhalten", "hier ist", "als Entschuldigung", "Kulanz".
    r"(?:ich|wir)(?:\s+\S+){0,9}?\s+" + _DE_VERB,
    _DE_VERB + r"\s+(?:ich|wir)",
    r"(?:wurde|wurden|wird|werden|ist|sind|bereits|soeben|gerade)(?:\s+\S+){0,8}?\s+" + _DE_PART,
    r"(?:sie|du)(?:\s+(?!konnen(?!\w)|kannst(?!\w))\S+){0,6}?\s+"
    r"(?:erhalten|erhaltst|erhalt|bekommen|bekommst|bekommt|sehen|siehst)",
    r"(?:erhalten|bekommen) (?:sie|du)|hier (?:ist|ihr|ihre|dein|deine)",
    r"als (?:kleine\w* )?(?:entschuldigung|dankeschon|wiedergutmachung|geste|zeichen)",
    r"kulanz\w*|unterwegs|auf dem weg|geniessen sie|geniess|entfall\w* fur (?:sie|dich)",
    # A one-off concession, in any of the five languages.
    r"as an exception|exceptionally|just this once|this one time|excepcionalmente",
    r"por esta vez|de forma excepcional|exceptionnellement|ausnahmsweise|excecionalmente",
    r"desta vez|de forma excecional",
)
# Waivers worded as a negation ("we won't charge the fee"): promises despite the "not".
_WAIVED_BY_NEGATION = _words(
    r"(?:won't|will not|wont|shan't|shall not|(?:are|'re|am|'m) not going to|aren't going to)"
    r"\s+(?:be\s+)?(?:charg|bill|invoic|collect|apply|add)\w*(?:\s+\S+){0,4}?\s+" + _FEE,
    r"no\s+(?:\S+\s+){0,2}?" + _FEE + r"\s+will\s+be\s+(?:charged|applied|added|billed)",
    _FEE + r"(?:\s+\S+){0,3}?\s+(?:won't|will not) be (?:charged|applied|billed|added)",
    r"no\s+(?:(?:le|te|les|lhe|vamos|vou|iremos)\s+)?(?:a\s+)?"
    r"(?:cobraremos|cobrare|cobrar|facturaremos|aplicaremos|cobrarei)(?:\s+\S+){0,4}?\s+" + _FEE,
    r"nao\s+(?:(?:lhe|te|vamos|vou|iremos)\s+)?"
    r"(?:cobraremos|cobrarei|cobrar|aplicaremos|aplicar)(?:\s+\S+){0,4}?\s+" + _FEE,
    r"ne\s+(?:vous|te)\s+(?:facturerons|facturerai|appliquerons|appliquerai|compterons)"
    r"\s+pas(?:\s+\S+){0,4}?\s+" + _FEE,
    r"(?:(?:ich|wir)\s+(?:berechnen|berechne|verrechnen|erheben)|(?:berechnen|berechne"
    r"|verrechnen|erheben)\s+(?:ich|wir))\s+(?:ihnen|dir)\s+(?:\S+\s+){0,2}?kein\w*\s+"
    r"(?:\S+\s+){0,2}?" + _FEE,
)

# --- what cancels a marker: negation, hedges, descriptions of policy ---------------------

# Set phrases with a negation word that negate nothing; blanked before looking for negations.
_IDIOMS = _words(
    r"no (?:worries|problem|prob)",
    r"(?:don't|do not) (?:worry|hesitate)",
    r"not to worry",
    r"no need to \w+",
    r"not only",
    r"no later than",
    r"at no (?:extra |additional )?(?:cost|charge)",
    r"no (?:further )?action (?:is )?(?:needed|required)",
    r"(?:you )?(?:don't|do not) need to \w+",
    r"if not",
    r"no matter",
    r"no (?:se|te) preocupe\w*",
    r"no hay (?:problema|de que)",
    r"sin (?:problema|costo|coste|cargo)\w*",
    r"no dude\w* en",
    r"no (?:tiene|tienes|necesita|necesitas) que hacer nada",
    r"no es necesario",
    r"a mas tardar",
    r"pas de (?:souci|soucis|probleme|problemes|panique)",
    r"ne vous (?:inquietez|en faites) pas",
    r"ne t'inquiete pas",
    r"n'hesitez pas",
    r"sans frais",
    r"vous n'avez rien a faire",
    r"pas besoin de",
    r"au plus tard",
    r"keine (?:sorge|sorgen|ursache|zusatzlichen kosten|weiteren schritte)",
    r"kein problem",
    r"zogern sie nicht",
    r"nicht zogern",
    r"nichts (?:weiter )?(?:tun|unternehmen)",
    r"nicht (?:notig|erforderlich)",
    r"nao se preocupe",
    r"nao (?:ha|tem) problema",
    r"sem problema\w*",
    r"nao hesite",
    r"nao precisa (?:de )?fazer nada",
    r"nao e necessario",
    r"sem custo\w*",
    r"o mais tardar",
    r"no entanto",
)
_NEGATION = _words(
    r"not|\w+n't|cannot|never|nor|neither|unable|impossible|ineligible",
    r"den(?:y|ied|ies|ying)|declin\w*|reject\w*|refus\w*",
    # Portuguese "no" is also "in the" ("no seu cartão"): not a negation before those.
    r"no(?!\s+(?:seu|sua|seus|suas|valor|prazo|mesmo|dia|cartao|proximo|total|momento|final"
    r"|caso|extrato|sistema|site|app|aplicativo|periodo|montante|mes|ano|maximo|minimo)(?!\w))",
    r"nunca|ni|jamas|tampoco|imposible|rechaz\w*|denegad\w*|ningun\w*",
    r"nao|nem|jamais|impossivel|recus\w*|negad\w*|indeferid\w*|nenhum\w*",
    r"ne|pas|aucun\w*",
    r"nicht|kein\w*|nie|niemals|weder|unmoglich|abgelehnt|ablehn\w*",
    elision=r"n'",
)
_HEDGE = _words(
    # English: possibility, checks, requests passed on, who decides, policy, eligibility.
    r"may(?:be)?|might|perhaps|possibly|whether|if possible|where possible|wish|if only",
    r"ojala|quisiera poder|me gustaria poder|j'aimerais pouvoir|ich wunschte|gostaria de poder",
    r"it(?:'s| is| may be| might be) possible",
    r"(?:check|see|confirm|verify|find out|look into|ask|determine|review|investigate|know)"
    r"(?:\s+\S+){0,3}?\s+(?:if|whether)",
    r"(?:refund|discount|credit|compensation|reimbursement)\s+(?:request|claim|application)s?",
    r"request(?:ed|ing)?\s+(?:(?:a|an|the|your)\s+)?(?:refund|discount|credit|exception"
    r"|waiver)",
    r"(?:forward|escalat|pass|submitt?|sent|send|rout|refer|flag|hand)\w*(?:\s+\S+){0,4}?"
    r"\s+(?:to|on|along|with)\s+(?:our|the|a)\s+(?:\S+\s+){0,2}?(?:team|department"
    r"|colleagues?|specialists?|supervisor|manager|billing)",
    r"decid(?:e|es|ed) by|(?:will|to|would|must|can|may) decide|decides|up to (?:our|the)",
    r"(?:the|their|la|a) (?:decision|decisao)|decision (?:is|lies|rests)",
    r"subject to|pending|(?:will|'ll) let you know|hope\w*|eligib\w*",
    r"elegib\w*|entitled|qualif\w*|polic(?:y|ies)|terms|generally|usually|typically",
    r"normally|in general|as a rule|according to|per our|under our|money[- ]back guarantee",
    r"(?:days?|dias|jours|tagen?|weeks?|semanas|semaines|wochen|months?|meses|mois|monaten?)"
    r"\s+(?:\S+\s+){0,3}?(?:l'|d')?(?:purchase|delivery|receipt|compra|entrega|recepcion"
    r"|achat|livraison|reception|kauf|lieferung|erhalt|rececao|recebimento)",
    r"if you (?:have|had|already have|received|got)",
    r"(?:you|you've|you have) (?:asked|requested|mentioned|wanted)|(?:added|left|made) a note",
    r"how to|would need|needs? to be|asked?\s+(?:our|the|my)|try to|do my best|i've asked",
    r"(?:if|once|when|after)\s+(?:it(?:'s| is)\s+|they\s+|billing\s+|the team\s+)?"
    r"(?:approved|eligible|applicable|confirmed|authori[sz]ed|approves?)",
    r"would you like|do you want|shall i|should i|want me to",
    # Spanish and Portuguese.
    r"quiza\w*|tal ?vez|es posible que|seria posible|si es posible|si fuera posible",
    r"e possivel que|se possivel|se for possivel|verific\w*|comprob\w*|avali\w*",
    r"revis(?:ar|are|aremos|amos|ando|ion|ao)|decide(?:n)?|decidira|decidiran|decidido por",
    r"cabe a|decidee?s? par|decidera|decideront|entscheid(?:et|en|ung)",
    r"analis\w*|ver se|saber se|encaminh\w*|facturacion|faturamento|faturacao",
    r"(?:solicitud|pedido|peticion|solicitacao) de (?:reembolso|estorno|descuento|desconto"
    r"|credito|devolucion)",
    r"solicit(?:ar|e|amos|ado|ada|ei)",
    r"(?:traslad|remit|escal|deriv|envi)\w*(?:\s+\S+){0,4}?\s+(?:al|a la|a nuestro|para o"
    r"|para a|ao)\s+(?:\S+\s+){0,2}?(?:equipo|departamento|area|setor|equipa)",
    r"politica\w*|condiciones|condicoes|terminos|termos|derecho a|direito a",
    r"generalmente|normalmente|habitualmente|por lo general|em geral",
    r"segun (?:nuestra|la|las)|de acuerdo con (?:nuestra|la)|de acordo com",
    r"sujet[oa] a|pendiente|pendente|intentar\w*|tentar\w*",
    r"(?:le|te) (?:informare|informaremos|avisare|avisaremos|confirmare|confirmaremos)",
    r"(?:o|a|lhe) (?:informarei|informaremos|avisarei|avisaremos)",
    r"si (?:procede|corresponde|se aprueba|es aprobad[oa])|se for aprovad[oa]",
    r"una vez (?:aprobad|confirmad)\w*|assim que (?:for )?aprovad\w*",
    r"le gustaria que|desea que|quiere que|gostaria que|deseja que|quer que",
    # French.
    r"peut-etre|pourrait|pourriez|eventuel\w*|si (?:vous etes eligible|eligible|possible"
    r"|approuve|accepte|cela est possible)",
    r"verifi\w*|voir si|savoir si|transmi\w*|examin\w*|etudi\w*|essayer",
    r"demande (?:de |d')\s*(?:remboursement|remise|avoir|geste|reduction)",
    r"(?:service|equipe) (?:de |du )?(?:facturation|comptabilite)",
    r"politique|conditions|droit a|droit au|en general|generalement|habituellement",
    r"selon (?:notre|nos|la|les)|conformement|sous reserve|en attente",
    r"tiendr\w* informe|reviendr\w* vers vous",
    r"souhaitez-vous|voulez-vous|souhaitez vous|voulez vous",
    # German.
    r"vielleicht|moglicherweise|eventuell|ob|pruf\w*|gepruft|uberpruf\w*|antrag auf",
    r"(?:erstattungs|gutschrift|rabatt)(?:anfrage|antrag|wunsch)\w*|anfrage (?:auf|zur|nach)",
    r"weitergeleitet|weiterleiten|eskal\w*|buchhaltung|abrechnungs\w*",
    r"richtlinie\w*|bedingungen|agb|anspruch|berechtigt|in der regel|grundsatzlich",
    r"normalerweise|ublicherweise|bescheid|sofern|falls (?:genehmigt|moglich|berechtigt)",
    r"wenn moglich|versuchen|geld-zuruck-garantie|bemuhen|mochten sie|wollen sie|soll ich",
)
# A clause about the commitment in general ("Refunds are issued to ...") describes policy.
_GENERIC_SUBJECT = regex.compile(
    r"\W*(?:(?:all|any|our|los|las|les|as|os|die|alle|todos|todas|tous|toutes)\s+)?"
    r"(?:refunds|discounts|credits|vouchers|reimbursements|reembolsos|descuentos|creditos"
    r"|devoluciones|remboursements|remises|reductions|avoirs|erstattungen|ruckerstattungen"
    r"|rabatte|gutschriften|gutscheine|descontos|estornos)(?!\w)"
)

# --- segmentation ------------------------------------------------------------------------

_SENTENCE_END = regex.compile(r"[.!?;…]+(?=\s|$)|\n+")
# Run on the lower-cased text with accents kept: Portuguese "é" (is) is not "e" (and).
_CONTRAST = regex.compile(
    r"(?<!\w)(?:but|however|although|though|whereas|pero|sin embargo|aunque|no obstante|mais"
    r"|cependant|toutefois|pourtant|bien que|aber|jedoch|allerdings|obwohl|sondern|porém"
    r"|contudo|no entanto|todavia|embora|entretanto)(?!\w)|,\s*(?:mas|doch)(?!\w)"
)
_CLAUSE_BREAK = regex.compile(r"[,:()\[\]–—]|\s-\s|(?<!ahead)\s(?:and|y|e|et|und|as well as)(?=\s)")


@dataclass(frozen=True, slots=True)
class Promise:
    """A commitment found in a reply: its kind and the span of the promising phrase."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Clause:
    start: int
    end: int
    markers: tuple[tuple[int, int], ...]
    negated: bool
    hedged: bool

    @property
    def blocked(self) -> bool:
        return self.negated or self.hedged


def find_promises(text: str) -> list[Promise]:
    """Every commitment ``text`` makes or reports as done, in text order, one per clause."""
    folded = fold(text)
    lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    neutral = _blank(folded, _IDIOMS)
    found: list[Promise] = []
    for start, end in _spans(folded, _SENTENCE_END, 0, len(folded), keep_separator=True):
        if _is_question(folded[start:end]):
            continue
        for part_start, part_end in _spans(lowered, _CONTRAST, start, end):
            terms = _terms(folded, part_start, part_end)
            if terms:  # clauses are analysed only where something could be promised
                clauses = _clauses(folded, neutral, lowered, part_start, part_end)
                found.extend(_promises_in(folded, clauses, terms))
    return sorted(found, key=lambda promise: (promise.start, promise.end))


def fold(text: str) -> str:
    """``text`` lower-cased, without accents, with one character for each of ``text``."""
    return "".join(_fold_char(ch) for ch in text)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in "’‘ʼ`´":
        return "'"
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    for candidate in (base.lower(), ch.lower()):
        if len(candidate) == 1:
            return candidate
    return ch


def _blank(text: str, pattern: regex.Pattern[str]) -> str:
    """``text`` with every match of ``pattern`` replaced by spaces (offsets kept)."""
    return pattern.sub(lambda match: " " * len(match.group()), text)


def _spans(
    text: str, separator: regex.Pattern[str], start: int, end: int, *, keep_separator: bool = False
) -> Iterator[tuple[int, int]]:
    """The non-blank stretches of ``text[start:end]`` between matches of ``separator``.

    With ``keep_separator`` each stretch ends after its separator (a sentence keeps its
    "?"), otherwise before it.
    """
    position = start
    for match in separator.finditer(text, start, end):
        if text[position : match.start()].strip():
            yield position, match.end() if keep_separator else match.start()
        position = match.end()
    if text[position:end].strip():
        yield position, end


def _is_question(sentence: str) -> bool:
    stripped = sentence.strip()
    return stripped.endswith("?") or stripped.startswith("¿")


def _clauses(folded: str, neutral: str, lowered: str, start: int, end: int) -> list[_Clause]:
    clauses: list[_Clause] = []
    for clause_start, clause_end in _spans(lowered, _CLAUSE_BREAK, start, end):
        markers = tuple(m.span() for m in _MARKER.finditer(folded, clause_start, clause_end))
        negated = _NEGATION.search(neutral, clause_start, clause_end) is not None
        hedged = _HEDGE.search(folded, clause_start, clause_end) is not None
        clauses.append(_Clause(clause_start, clause_end, markers, negated, hedged))
    return clauses


def _terms(folded: str, start: int, end: int) -> list[tuple[str, int, int, bool]]:
    """The part's terms as (kind, start, end, worded as a negation), in kind order.

    Terms are looked for in the whole part, as one may span a comma ("within the hour,
    guaranteed").
    """
    terms = [
        (kind, match.start(), match.end(), False)
        for kind, pattern in _TERMS.items()
        for match in pattern.finditer(folded, start, end)
    ]
    waivers = _WAIVED_BY_NEGATION.finditer(folded, start, end)
    return terms + [("sla_exception", m.start(), m.end(), True) for m in waivers]


def _promises_in(
    folded: str, clauses: list[_Clause], terms: list[tuple[str, int, int, bool]]
) -> Iterator[Promise]:
    """The commitments of one part: each term with the marker that applies to its clause.

    A term is judged by the clause it starts in; one finding per kind and clause. A waiver
    worded as a negation is its own marker and only a hedge cancels it.
    """
    seen: set[tuple[str, int]] = set()
    for kind, start, end, negative in terms:
        index = _clause_at(clauses, start)
        clause = clauses[index]
        if (kind, index) in seen or clause.hedged or (clause.negated and not negative):
            continue
        if negative:
            marker: tuple[int, int] | None = (start, end)
        elif _GENERIC_SUBJECT.match(folded, clause.start, clause.end):
            continue
        else:
            marker = _applying_marker(clauses, index)
        if marker is not None:
            seen.add((kind, index))
            yield Promise(kind, min(start, marker[0]), max(end, marker[1]))


def _clause_at(clauses: list[_Clause], position: int) -> int:
    """Index of the clause that holds ``position`` (the one before it, in a separator)."""
    index = 0
    for candidate, clause in enumerate(clauses):
        if clause.start <= position:
            index = candidate
    return index


def _applying_marker(clauses: list[_Clause], index: int) -> tuple[int, int] | None:
    """The marker of the clause itself, else of the nearest clause before, then after."""
    order = [index, *range(index - 1, -1, -1), *range(index + 1, len(clauses))]
    for position in order:
        clause = clauses[position]
        if clause.markers:
            return None if clause.blocked else clause.markers[0]
    return None
