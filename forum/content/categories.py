"""Creating categories (admins, the CLI and the demo seed)."""

from __future__ import annotations

from sqlalchemy import func, select

from forum.content.errors import ContentError
from forum.content.models import Category
from forum.content.slug import slugify
from forum.db import db

NAME_MAX = 50


def create_category(name: object, description: str = "", color: str = "0088CC") -> Category:
    if not isinstance(name, str) or not name.strip():
        raise ContentError("Name can't be blank")
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise ContentError(f"Name is too long (maximum is {NAME_MAX} characters)")
    if db.session.scalar(select(Category.id).where(func.lower(Category.name) == name.lower())):
        raise ContentError("Category Name has already been taken")
    slug = base = slugify(name, fallback="category")
    n = 1
    while db.session.scalar(select(Category.id).where(Category.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), 0))) or 0
    category = Category(
        name=name, slug=slug, description=description, color=color, position=position + 1
    )
    db.session.add(category)
    db.session.flush()
    return category
