"""LaTeX math to readable Unicode text.

For example ``softmax(QK^\\top/\\sqrt{d_k})V`` becomes ``softmax(QKᵀ/√d_k)V``.

A small recursive-descent reader over the subset of LaTeX that study items use. It never raises:
anything it does not know is kept as written, minus the backslash; ``latex_problems`` names those
commands so that ``check-content`` can flag them before a learner sees them.
"""

from __future__ import annotations

import re

SYMBOLS = {
    # Greek
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    # Operators and relations
    "cdot": "·",
    "times": "×",
    "div": "÷",
    "pm": "±",
    "mp": "∓",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "simeq": "≃",
    "propto": "∝",
    "equiv": "≡",
    "ll": "≪",
    "gg": "≫",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "land": "∧",
    "lor": "∨",
    "odot": "⊙",
    "otimes": "⊗",
    "oplus": "⊕",
    "circ": "∘",
    "star": "⋆",
    "ast": "∗",
    "bullet": "•",
    "sum": "Σ",
    "prod": "Π",
    "int": "∫",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "emptyset": "∅",
    "ell": "ℓ",
    "dagger": "†",
    "top": "ᵀ",
    "prime": "′",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "leftrightarrow": "↔",
    "Leftrightarrow": "⇔",
    "implies": "⇒",
    "iff": "⇔",
    "mapsto": "↦",
    "succ": "≻",
    "prec": "≺",
    "succeq": "⪰",
    "preceq": "⪯",
    "uparrow": "↑",
    "downarrow": "↓",
    "mid": "|",
    "vert": "|",
    "Vert": "‖",
    "|": "‖",
    "lVert": "‖",
    "rVert": "‖",
    "lvert": "|",
    "rvert": "|",
    "langle": "⟨",
    "rangle": "⟩",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "vdots": "⋮",
    # Named functions keep their names
    "log": "log",
    "ln": "ln",
    "exp": "exp",
    "max": "max",
    "min": "min",
    "arg": "arg",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "lim": "lim",
    "det": "det",
    "sup": "sup",
    "inf": "inf",
    "Pr": "Pr",
    "argmax": "argmax",
    "argmin": "argmin",
    # Spacing and sizing
    "quad": "  ",
    "qquad": "    ",
    ",": " ",
    ";": " ",
    ":": " ",
    "!": "",
    " ": " ",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigg": "",
    "Bigg": "",
    "displaystyle": "",
    "limits": "",
    "nolimits": "",
    # Escaped characters
    "{": "{",
    "}": "}",
    "%": "%",
    "_": "_",
    "#": "#",
    "&": "&",
    "$": "$",
}
BLACKBOARD = {"E": "𝔼", "R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "1": "𝟙"}
ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "bar": "\u0304",
    "overline": "\u0305",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
}
TEXT_COMMANDS = {
    "text",
    "mathrm",
    "operatorname",
    "mathbf",
    "mathit",
    "textbf",
    "textit",
    "mathsf",
    "mathtt",
    "texttt",
    "boldsymbol",
    "bm",
    "mathcal",
    "boxed",
    "emph",
    "textrm",
    "mbox",
    "hbox",
}
SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()nihjklmoprstuvwxyzabcdefgT",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵃᵇᶜᵈᵉᶠᵍᵀ",
        strict=True,
    )
)
SUPERSCRIPTS.update({"ᵀ": "ᵀ", "′": "′", "∗": "*", "*": "*", "−": "⁻"})
SUBSCRIPTS = dict(zip("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", strict=True))
FUNCTIONS = {
    "log",
    "ln",
    "exp",
    "max",
    "min",
    "arg",
    "sin",
    "cos",
    "tanh",
    "lim",
    "det",
    "sup",
    "inf",
    "Pr",
    "argmax",
    "argmin",
}
BINARY = set("·×÷±∓≤≥≠≈≃∝≡≪≫∈∉⊂⊆∪∩∧∨⊙⊗⊕→←⇒⇐↔⇔↦≻≺⪰⪯|~")
# A control word eats the space after it (``\\partial L`` reads "∂L"), except before one of these:
# ``\\alpha > 1`` reads "α > 1", not "α> 1", when the source spaced the operator.
OPERATORS = set("=<>+-") | (BINARY - set("|~"))
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_]|\s+|[^\\{}^_\s]")


def _simple(text: str) -> bool:
    """True when ``text`` reads unambiguously without parentheses (x, 2, d_k, QKᵀ)."""
    return bool(re.fullmatch(r"[\w.′ᵀ*∗\u0300-\u036f]+", text))


class _Reader:
    def __init__(self, source: str) -> None:
        self.tokens = _TOKEN.findall(source)
        self.pos = 0
        self.unknown: list[str] = []  # commands kept as their bare names

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    def group(self) -> str:
        """One argument: a braced group, a command, or a single character."""
        while (tok := self.peek()) is not None and tok.isspace():
            self.pos += 1
        tok = self.next()
        if tok is None:
            return ""
        if tok == "{":
            return self.sequence(until="}")
        if tok.startswith("\\"):
            return self.command(tok[1:])
        return tok

    def optional(self) -> str | None:
        if self.peek() == "[":
            self.pos += 1
            out = []
            while (tok := self.next()) not in (None, "]"):
                out.append(tok or "")
            return "".join(out)
        return None

    def sequence(self, until: str | None = None) -> str:
        out: list[str] = []
        while (tok := self.next()) is not None:
            if tok == until:
                break
            if tok == "{":
                out.append(self.sequence(until="}"))
            elif tok == "}":
                continue
            elif tok in ("^", "_"):
                out.append(self.script(tok, self.group()))
            elif tok.startswith("\\"):
                name = tok[1:]
                if name in SYMBOLS:  # TeX drops the space after a control word
                    self.skip_space_unless_operator()
                out.append(self.command(name))
                nxt = self.peek()
                if name in FUNCTIONS and nxt is not None and (nxt[0].isalnum() or nxt[0] == "\\"):
                    out.append(" ")  # "log x", not "logx"
            elif tok.isspace():
                out.append(" ")
            else:
                out.append(tok)
        return "".join(out)

    def skip_space_unless_operator(self) -> None:
        end = self.pos
        while end < len(self.tokens) and self.tokens[end].isspace():
            end += 1
        if end < len(self.tokens) and self.tokens[end] not in OPERATORS:
            self.pos = end

    def script(self, kind: str, arg: str) -> str:
        table = SUPERSCRIPTS if kind == "^" else SUBSCRIPTS
        arg = arg.strip()
        if arg and all(ch in table for ch in arg):
            return "".join(table[ch] for ch in arg)
        if kind == "_":
            return "_" + arg if _simple(arg) else f"_({arg})"
        return "^" + arg if _simple(arg) else f"^({arg})"

    def command(self, name: str) -> str:
        if name in ("frac", "dfrac", "tfrac"):
            num, den = self.group().strip(), self.group().strip()
            num = num if _simple(num) else f"({num})"
            den = den if _simple(den) else f"({den})"
            return f"{num}/{den}"
        if name == "sqrt":
            index = self.optional()
            body = self.group().strip()
            root = {"3": "∛", "4": "∜"}.get(index or "", "√")
            if index and index not in ("3", "4"):
                root = self.script("^", index) + "√"
            return root + (body if _simple(body) else f"({body})")
        if name == "binom":
            n, k = self.group().strip(), self.group().strip()
            return f"C({n}, {k})"
        if name == "mathbb":
            arg = self.group()
            return "".join(BLACKBOARD.get(ch, ch) for ch in arg)
        if name in ACCENTS:
            arg = self.group()
            return arg + ACCENTS[name] if len(arg) == 1 else f"{arg}{ACCENTS[name]}"
        if name in TEXT_COMMANDS:
            return self.group()
        if name in SYMBOLS:
            symbol = SYMBOLS[name]
            return f" {symbol} " if symbol in BINARY else symbol
        self.unknown.append(name)
        return name  # unknown command: keep its name, readable enough


def _convert(source: str) -> tuple[str, list[str]]:
    reader = _Reader(source.strip())
    text = reader.sequence()
    text = re.sub(r" {2,}", " ", text)
    return re.sub(r"([(\[{]) | ([)\]}])", r"\1\2", text).strip(), reader.unknown


def latex_to_unicode(source: str) -> str:
    """Convert a LaTeX math expression (without the ``$``) to plain Unicode text."""
    return _convert(source)[0]


def latex_problems(source: str) -> list[str]:
    """What ``latex_to_unicode`` cannot show in ``source``, one message each (none when clean).

    An unknown command comes out as its bare name (``\\prec`` would read "prec" if it were not in
    SYMBOLS); a backslash that survives conversion or an unbalanced brace is shown as written.
    """
    text, unknown = _convert(source)
    problems = [f'\\{name} shows as "{name}": the converter does not know it' for name in unknown]
    if not unknown and "\\" in text:
        problems.append(f'a backslash survives conversion: "{text}"')
    depth = 0
    for token in _TOKEN.findall(source):
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0:
            break
    if depth:
        problems.append("unbalanced braces")
    return problems
