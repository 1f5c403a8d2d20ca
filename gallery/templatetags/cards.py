"""The gallery cards' tags: a page has 48 cards, 192 thumbnails, 400 links.

`{% card_url name a b %}` gives what `{% url name a b %}` gives, without a
URLconf walk per link (`reverse()` costs some 20 µs on these machines, a third
of the page's time): it reverses `name` once (per URL prefix and kind of
arguments) with stand-in arguments and fills the real ones into the result,
quoted as `reverse()` quotes them. Unlike `{% url %}` it does not check the
arguments against the route: it is for ids, slugs and stored file names from
the database. A route that the stand-ins do not fit falls back to `reverse()`.

`{% card_thumb image slug alt %}` is one stored image of a card, the same
markup as the template would write, in one tag instead of a dozen lookups;
`{% card_thumbs … %}` is a card's whole block of pictures and `{% card_names %}`
the texts a card names itself with, for the same reason: a template lookup or
filter costs microseconds, and a page of 48 cards made a few thousand of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from gallery.templatetags.titles import job_title

register = template.Library()

STAND_INS = {int: 918273645546372819, str: "q0stand0in0q"}
SAFE = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted


@lru_cache(maxsize=256)
def url_pattern(name: str, kinds: tuple[type, ...], prefix: str, urlconf) -> str | None:
    """`name`'s URL as a str.format pattern with one {} per argument, or None."""
    stand_ins = [str(STAND_INS[kind]) for kind in kinds]
    try:
        url = reverse(name, args=stand_ins, urlconf=urlconf)
    except NoReverseMatch:
        return None
    url = url.replace("{", "{{").replace("}", "}}")
    for stand_in in stand_ins:  # in the order reverse() placed them
        head, found, tail = url.partition(stand_in)
        if not found:
            return None
        url = f"{head}{{}}{tail}"
    return url


@register.simple_tag
def card_url(name: str, *args) -> str:
    kinds = tuple(int if isinstance(arg, int) else str for arg in args)
    return _fill(url_pattern(name, kinds, get_script_prefix(), get_urlconf()), name, args)


def _fill(pattern: str | None, name: str, args) -> str:
    if pattern is None:
        return reverse(name, args=args)
    return pattern.format(*(quote(str(arg), safe=SAFE) for arg in args))


@dataclass(frozen=True)
class Picture:
    """The URL patterns a card's picture needs, looked up once per page, not
    three times per picture (the lookups are most of a picture's cost)."""

    page: str | None
    media: str | None
    download: str | None


@lru_cache(maxsize=16)
def _picture(prefix: str, urlconf) -> Picture:
    image = url_pattern("image", (str, int), prefix, urlconf)
    media = url_pattern("media", (str,), prefix, urlconf)
    return Picture(image, media, url_pattern("image-download", (str, int), prefix, urlconf))


@register.simple_tag
def card_thumb(
    image, slug: str, alt: str, urls: Picture | None = None, keep: str = ""
) -> SafeString:
    """`<a href="{% url 'image' slug image.pk %}" class="thumb-link"><img …></a>`:
    the thumbnail, sized so the page keeps its place while it loads, linking
    to the image's page (with `keep`, the gallery's filters, so ←/→ there
    walk what the gallery showed)."""
    urls = urls or _picture(get_script_prefix(), get_urlconf())
    page = _fill(urls.page, "image", (slug, image.pk))
    page = escape(f"{page}?{keep}" if keep else page)
    src = escape(_fill(urls.media, "media", (image.thumbnail.name,)))
    width, height = image.thumb_size
    return mark_safe(  # noqa: S308 - every value is escaped above or here, or a number
        f'<a href="{page}" class="thumb-link"><img src="{src}" width="{width}" '
        f'height="{height}" loading="lazy" decoding="async" '
        f'alt="Image {image.index + 1} of “{escape(str(alt))}”"></a>'
    )


# --- a card's shape ------------------------------------------------------------------
#
# The gallery lays cards out in justified rows (static/css/app.css): each card is
# as wide as its pictures' block is wide for the row's height, so nothing is
# cropped and a row's pictures share one height. CSS has a class per ratio (the
# CSP allows no inline style), so the block's true ratio is snapped to the
# nearest of these: a small mismatch shows as a thin band, never a crop.
RATIOS = {0.75: "r075", 1.0: "r100", 1.25: "r125", 1.5: "r150", 1.78: "r178"}
RATIOS |= {2.0: "r200", 2.25: "r225", 2.4: "r240"}
TALL = 0.9  # pictures narrower than this line up in a row, not two by two


@dataclass(frozen=True)
class Shape:
    ratio: str  # the card's class, e.g. "r178"
    layout: str  # "layout-one", "layout-grid" (two columns) or "layout-strip" (one row)
    cells: int  # pictures and gaps the block holds
    filtered: bool  # moderation kept some of a generation's four: a gap says so
    opens: Any = None  # the image "Open" leads to: the first one stored


@register.simple_tag
def card_shape(job, images: list) -> Shape:
    """How a card draws its pictures, from their stored size (no query: the
    images are the card's prefetched ones). A card without pictures yet
    (queued, running, failed) is square."""
    filtered = job.status == "completed" and len(images) < 4 and job.operation == "mj-v7"
    cells = len(images) + filtered
    opens = next((i for i in images if i.status == "stored"), None)
    if not images:
        return Shape("r100", "layout-one", cells, filtered)
    width, height = next((i.thumb_size for i in images if i.width and i.height), (1, 1))
    aspect = width / height
    if cells == 1:
        layout, block = "layout-one", aspect
    elif aspect < TALL:
        layout, block = "layout-strip", aspect * cells
    else:
        layout, block = "layout-grid", aspect * 2 / ((cells + 1) // 2)
    ratio = min(RATIOS, key=lambda r: abs(r - block))
    return Shape(RATIOS[ratio], layout, cells, filtered, opens)


@register.simple_tag
def card_open(shape: Shape, slug: str, keep: str = "") -> SafeString:
    """The card's "Open": the page of its first stored picture, if it has one."""
    if shape.opens is None:
        return mark_safe("")
    href = card_url("image", slug, shape.opens.pk)
    href = escape(f"{href}?{keep}" if keep else href)
    return mark_safe(  # noqa: S308 - escaped, or a number
        f'<a class="tool-button open-link" href="{href}">Open<span class="visually-hidden">'
        f' image {shape.opens.index + 1}</span> <span aria-hidden="true">↗</span></a>'
    )


@register.simple_tag
def card_download(image, slug: str, urls: Picture | None = None) -> SafeString:
    """A link that saves an image's original through the image page's
    attachment route ("image-download", named after its job and slot)."""
    urls = urls or _picture(get_script_prefix(), get_urlconf())
    href = _fill(urls.download, "image-download", (slug, image.pk))
    number = image.index + 1
    return mark_safe(  # noqa: S308 - every value is escaped here, or a number
        f'<a href="{escape(href)}" class="thumb-download" download'
        f' aria-label="Download image {number}" title="Download image {number}">'
        '<span aria-hidden="true">↓</span></a>'
    )


def truncated(text: str, length: int) -> str:
    """What `|truncatechars:length` gives; most texts are short enough already."""
    return text if len(text) <= length else Truncator(text).chars(length)


@dataclass(frozen=True)
class Names:
    """What a card calls itself. An edit is titled by what it did ("Upscale
    (subtle)"), its lineage's first prompt under it; a generation by its prompt."""

    prompt: str  # its own prompt, without --parameters
    title: str  # "" for a generation
    root: str  # the prompt its lineage began with (its own, for a generation)
    name: str  # the card's heading
    label: str  # the card's accessible name
    alt: str  # its pictures' alt text is "Image n of “alt”"


@register.simple_tag
def card_names(job) -> Names:
    prompt, title = job.prompt_text, job_title(job)
    root = job.root_prompt or prompt
    name = title or root
    label = f"{title} · {truncated(root, 60)}" if title and root else truncated(name or "Job", 60)
    label = f"{label}, by {job.user.username}"
    return Names(prompt, title, root, name, label, truncated(name, 80))


GAPS = {
    "lost": ("Image {n} could not be downloaded", "Image lost", ""),
    "pending": ("Image {n} is being stored", "Storing…", " pending"),
}


@register.simple_tag
def card_thumbs(images: list, shape: Shape, slug: str, alt: str, keep: str = "") -> SafeString:
    """A card's block of pictures: each stored one with its download link, a
    gap that says why for one lost or still being stored, and one for the
    pictures moderation kept back. `keep`: the gallery's filters, for the links."""
    urls = _picture(get_script_prefix(), get_urlconf())
    cells = []
    for image in images:
        if image.status == "stored":
            thumb = card_thumb(image, slug, alt, urls, keep)
            download = card_download(image, slug, urls)
            cells.append(f'<div class="thumb">{thumb}{download}</div>')
            continue
        label, text, kind = GAPS["lost" if image.status == "lost" else "pending"]
        label = label.format(n=image.index + 1)
        cells.append(f'<div class="thumb-gap{kind}" role="img" aria-label="{label}">{text}</div>')
    if shape.filtered:
        cells.append(
            '<div class="thumb-gap filtered" role="img" aria-label="Filtered by moderation">'
            "Filtered by moderation</div>"
        )
    return mark_safe(  # noqa: S308 - the pictures are escaped where they are made; the rest is ours
        f'<div class="thumbs {shape.layout} cells-{shape.cells}">{"".join(cells)}</div>'
    )
