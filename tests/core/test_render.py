"""Rendering: every real item becomes valid Telegram HTML within the limits; formulas draw."""

from __future__ import annotations

import pytest

from bot.core.content import CATEGORIES, Catalog, answer_markdown, load_catalog
from bot.core.formulas import formula_png
from bot.core.latex import latex_problems, latex_to_unicode
from bot.core.render import (
    Formula,
    html_length,
    render_html,
    render_problems,
    split_display,
    to_terminal_markdown,
)
from tests.botapi import parse_html
from tests.harness import REPO_CONTENT


@pytest.fixture(scope="module")
def real_catalog() -> Catalog:
    return load_catalog([REPO_CONTENT])


def test_real_content_counts(real_catalog: Catalog) -> None:
    items = real_catalog.in_curriculum_order()
    counts = {
        t: sum(1 for i in items if i.type == t) for t in ("concept", "quiz", "deep", "derive")
    }
    assert counts == {"concept": 80, "quiz": 130, "deep": 12, "derive": 5}
    assert sorted(i.id for i in items if i.type == "concept") == [f"c{k:03d}" for k in range(1, 81)]
    assert sorted(i.id for i in items if i.type == "quiz") == [f"q{k:03d}" for k in range(1, 131)]
    # The breadth items (q031-q130) say where they come from, and every category has 8 or more.
    breadth = [i for i in items if i.type == "quiz" and i.id >= "q031"]
    assert all(i.source == "new" or i.source in real_catalog for i in breadth)
    per_category = {c: sum(1 for i in breadth if i.category == c) for c in CATEGORIES}
    assert min(per_category.values()) >= 8, per_category


@pytest.mark.parametrize("limit", [4096, 700])
def test_every_item_renders_to_valid_telegram_html(real_catalog: Catalog, limit: int) -> None:
    for item in real_catalog.in_curriculum_order():
        for text in (item.question, answer_markdown(item)):
            for part in render_html(text, limit, prefix="<b>Q</b>"):
                if isinstance(part, Formula):
                    assert part.text and "\\" not in part.text, (item.id, part.latex)
                    continue
                plain, _entities = parse_html(part)  # raises on anything Telegram rejects
                assert len(plain.encode("utf-16-le")) // 2 <= limit, item.id
                assert html_length(part) <= limit


def test_every_display_formula_draws(real_catalog: Catalog) -> None:
    drawn = 0
    for item in real_catalog.in_curriculum_order():
        for text in (item.question, item.answer, *item.followups):
            for part in split_display(text):
                if isinstance(part, Formula):
                    png = formula_png(part.latex, part.boxed)
                    assert png.startswith(b"\x89PNG"), (item.id, part.latex)
                    drawn += 1
    assert drawn > 100


def test_every_derivation_has_a_boxed_result(real_catalog: Catalog) -> None:
    for item in real_catalog.in_curriculum_order():
        if item.type == "derive":
            boxed = [p for p in split_display(item.answer) if isinstance(p, Formula) and p.boxed]
            assert boxed, item.id


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\mathrm{softmax}(QK^\top/\sqrt{d_k})V", "softmax(QKᵀ/√d_k)V"),
        (r"\frac{\partial L}{\partial z_i} = p_i - y_i", "(∂L)/(∂z_i) = p_i - y_i"),
        (r"\hat{m}_t = \frac{m_t}{1-\beta_1^t}", "m̂_t = m_t/(1-β₁ᵗ)"),
        (r"x^2 + y^{10}", "x² + y¹⁰"),
        (r"W \in \mathbb{R}^{d \times k}", "W ∈ ℝ^(d × k)"),
        (r"\log \sigma(\beta x)", "log σ(βx)"),
        (r"\|x\|_2 \leq 1", "‖x‖₂ ≤ 1"),
        (r"\unknowncommand{x}", "unknowncommandx"),
        # A control word keeps the space the source put before an operator (c017, issue 15)...
        (r"\alpha > 1", "α > 1"),
        (r"\mu = 0.9", "μ = 0.9"),
        (r"\alpha + \beta - \gamma", "α + β - γ"),
        # ... and adds none where the source had none; other spaces after it still go.
        (r"\alpha>1", "α>1"),
        (r"\nabla f + \partial L", "∇f + ∂L"),
        (r"y_w \succ y_l", "y_w ≻ y_l"),
        (r"k_* = \theta^*", "k_* = θ*"),
    ],
)
def test_latex_to_unicode(latex: str, text: str) -> None:
    assert latex_to_unicode(latex) == text


@pytest.mark.parametrize(
    ("latex", "problems"),
    [
        (r"\frac{a}{b} \succ \sqrt{x}", []),
        (
            r"a \unknowncommand b",
            ['\\unknowncommand shows as "unknowncommand": the converter does not know it'],
        ),
        (r"a \\ b", ['\\\\ shows as "\\": the converter does not know it']),
        (r"\sqrt[\alpha]{x}", ['a backslash survives conversion: "^(\\alpha)√x"']),
        (r"\frac{a}{b", ["unbalanced braces"]),
    ],
)
def test_latex_problems_name_what_the_converter_cannot_show(
    latex: str, problems: list[str]
) -> None:
    assert latex_problems(latex) == problems


def test_render_problems_give_the_line_within_the_text() -> None:
    text = "Intro\n5. Substitute.\n\n`$` is code, $\\foo$ is not\n\nCost $5.\n"
    assert [line for line, _ in render_problems(text)] == [1, 3, 5]


def test_math_inside_code_is_left_alone() -> None:
    md = "Cost is $O(n^2)$ but `$HOME` and\n\n```bash\necho $PATH $x$\n```\n"
    out = to_terminal_markdown(md)
    assert "O(n²)" in out and "`$HOME`" in out and "echo $PATH $x$" in out
    html = render_html(md, 4096)
    assert html == [
        "Cost is O(n²) but <code>$HOME</code> and\n\n"
        '<pre><code class="language-bash">echo $PATH $x$</code></pre>'
    ]


def test_markdown_that_looks_like_html_is_escaped() -> None:
    [html] = render_html("Use <eos> & <b>not bold</b>, **bold** and *it*.", 4096)
    assert html == ("Use &lt;eos&gt; &amp; &lt;b&gt;not bold&lt;/b&gt;, <b>bold</b> and <i>it</i>.")
    parse_html(html)
