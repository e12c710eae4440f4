"""Contact filters of the mapping language: email normalisation, phone to E.164, first and last
name from a full name."""
import re

from .mapping_filters import FilterError, _text, register

_EMAIL = re.compile(r"[^@\s\"'<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")


@register()
def email(value):
    """Trimmed, lowercased address, or null when it is not a plausible email."""
    if not isinstance(value, str):
        return None
    address = value.strip().lower()
    return address if len(address) <= 254 and _EMAIL.fullmatch(address) else None


CALLING_CODES = {
    "US": "1", "CA": "1", "GB": "44", "AU": "61", "NZ": "64", "IE": "353", "DE": "49", "FR": "33",
    "ES": "34", "IT": "39", "NL": "31", "BE": "32", "CH": "41", "AT": "43", "SE": "46", "NO": "47",
    "DK": "45", "FI": "358", "PT": "351", "PL": "48", "MX": "52", "BR": "55", "AR": "54", "IN": "91",
    "ZA": "27", "NG": "234", "PH": "63", "SG": "65", "AE": "971", "JP": "81",
}
KEEPS_LEADING_ZERO = {"IT"}  # Italian landlines keep their 0 after the country code


@register()
def phone(value, default_country: str = "US"):
    """E.164 (+15551234567); numbers without +/00 are national numbers of default_country."""
    code = CALLING_CODES.get(default_country.upper())
    if code is None:
        raise FilterError(f"unknown country {default_country[:8]!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = re.sub(r"(?i)\s*(?:ext\.?|x|#)\s*\d{1,6}\s*$", "", str(value).strip())
    if len(text) > 40 or re.search(r"[^\d\s()+.\-/]", text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        full = digits
    elif digits.startswith("00"):
        full = digits[2:]
    else:
        full = _national_to_full(digits, code, default_country.upper())
    return "+" + full if full and 8 <= len(full) <= 15 and full[0] != "0" else None


def _national_to_full(digits: str, code: str, country: str) -> str | None:
    if code == "1":
        if len(digits) == 11 and digits.startswith("1"):
            return digits
        return "1" + digits if len(digits) == 10 else None
    if digits.startswith("0") and country not in KEEPS_LEADING_ZERO:
        digits = digits[1:]
    return code + digits if len(digits) >= 4 else None


_HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "hon"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "dds", "cpa"}
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "st",
              "ter", "ten", "dos", "das", "do", "bin", "ibn", "al", "el"}


def split_name(full: str) -> tuple[str, str]:
    """("Jane", "van der Berg") from "Dr. Jane van der Berg"; also reads "Berg, Jane"."""
    if full.count(",") == 1 and not _is_suffix(full.split(",")[1]):
        last, first = (part.strip() for part in full.split(","))
        full = f"{first} {last}"
    words = full.replace(",", " ").split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _HONORIFICS:
        words.pop(0)
    while len(words) > 1 and _is_suffix(words[-1]):
        words.pop()
    if not words:
        return "", ""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return words[0], " ".join(words[start:]) if len(words) > 1 else ""


def _is_suffix(word: str) -> bool:
    return word.strip().lower().replace(".", "") in _SUFFIXES


@register()
def first_name(value):
    """First name from a full name."""
    return split_name(_text(value))[0]


@register()
def last_name(value):
    """Last name (with particles like "van der") from a full name."""
    return split_name(_text(value))[1]
