"""Creating and changing categories (admins, the CLI and the demo seed)."""

from __future__ import annotations

from sqlalchemy import func, select

from forum.content.errors import ContentError
from forum.content.models import Category
from forum.content.slug import slugify
from forum.db import db
from forum.text import one_line, without_nul

NAME_MAX = 50


def _valid_name(name: object, category_id: int | None = None) -> str:
    name = one_line(name) if isinstance(name, str) else ""
    if not name:
        raise ContentError("Name can't be blank")
    if len(name) > NAME_MAX:
        raise ContentError(f"Name is too long (maximum is {NAME_MAX} characters)")
    holder = db.session.scalar(select(Category.id).where(func.lower(Category.name) == name.lower()))
    if holder is not None and holder != category_id:
        raise ContentError("Category Name has already been taken")
    return name


def _free_slug(text: str, category_id: int | None = None) -> str:
    slug = base = slugify(text, fallback="category")
    n = 1
    while (holder := db.session.scalar(select(Category.id).where(Category.slug == slug))) and (
        holder != category_id
    ):
        n += 1
        slug = f"{base}-{n}"
    return slug


def update_category(
    category: Category, name: object, description: str, color: str, slug: object = None
) -> Category:
    category.name = _valid_name(name, category.id)
    if slug is not None:
        if not isinstance(slug, str) or not slug.strip():
            raise ContentError("slug must be text")
        category.slug = _free_slug(slug, category.id)
    category.description, category.color = without_nul(description), color
    db.session.flush()
    return category


def create_category(name: object, description: str = "", color: str = "0088CC") -> Category:
    name = _valid_name(name)
    slug = _free_slug(name)
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), 0))) or 0
    category = Category(
        name=name,
        slug=slug,
        description=without_nul(description),
        color=color,
        position=position + 1,
    )
    db.session.add(category)
    db.session.flush()
    return category
