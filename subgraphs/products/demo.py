"""The demo catalog: 60 products in 6 categories, generated deterministically (seeded RNG, fixed ids)."""

from __future__ import annotations

import itertools
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from subgraphs.products.catalog import new_product_doc
from subgraphs.products.ids import slugify, stable_id
from subgraphs.products.store import CatalogStore
from subgraphs.products.validation import ProductSpec, VariantSpec, validate_new_product

log = logging.getLogger(__name__)

SEED = 20240601
PRODUCTS_PER_CATEGORY = 10
EPOCH = datetime(2024, 6, 1, tzinfo=UTC)

# category -> (nouns, option axes, price range in cents)
_CATEGORIES: dict[str, tuple[list[str], dict[str, list[str]], tuple[int, int]]] = {
    "Apparel": (["T-Shirt", "Hoodie", "Jacket", "Sweater", "Polo"],
                {"size": ["S", "M", "L", "XL"], "colour": ["Black", "Navy", "Sand", "Forest"]}, (1500, 12000)),
    "Footwear": (["Runner", "Sneaker", "Boot", "Sandal", "Loafer"],
                 {"size": ["40", "41", "42", "43", "44"]}, (4000, 18000)),
    "Electronics": (["Headphones", "Speaker", "Charger", "Keyboard", "Webcam"],
                    {"colour": ["Graphite", "Silver", "White"]}, (2000, 30000)),
    "Home & Kitchen": (["Mug", "Kettle", "Skillet", "Lamp", "Throw Blanket"],
                       {"colour": ["Terracotta", "Sage", "Cream", "Charcoal"]}, (900, 15000)),
    "Books": (["Field Guide", "Cookbook", "Atlas", "Notebook", "Novel"],
              {"format": ["Paperback", "Hardcover"]}, (800, 6000)),
    "Outdoor": (["Backpack", "Tent", "Water Bottle", "Headlamp", "Rain Shell"],
                {"colour": ["Orange", "Olive", "Slate"], "size": ["Regular", "Large"]}, (1200, 40000)),
}
_CLAIMS = ["built to last", "light and packable", "a customer favourite", "made from recycled materials",
           "designed in-house"]
_ADJECTIVES = ["Alpine", "Harbor", "Meridian", "Summit", "Coastal", "Nordic", "Urban", "Canyon", "Aurora",
               "Cedar", "Granite", "Lumen", "Pioneer", "Tidal", "Willow"]


def demo_specs() -> list[tuple[str, datetime, ProductSpec, list[str]]]:
    """(product id, created at, spec, variant ids) for every demo product, the same on every call."""
    rng = random.Random(SEED)
    products = []
    sequence = 0
    for category, (nouns, axes, (low, high)) in _CATEGORIES.items():
        for index in range(PRODUCTS_PER_CATEGORY):
            noun = nouns[index % len(nouns)]
            adjective = _ADJECTIVES[(index * 7 + len(category)) % len(_ADJECTIVES)]
            name = f"{adjective} {noun}" + (" II" if index >= len(nouns) else "")
            slug = slugify(f"{name}-{category}")
            base_price = rng.randrange(low, high) // 100 * 100 - 1
            combos = list(itertools.product(*axes.values()))
            rng.shuffle(combos)
            combos = sorted(combos[: rng.randint(2, min(6, len(combos)))])
            code = "".join(word[0] for word in slug.split("-")).upper()
            variants = []
            for n, combo in enumerate(combos):
                options = list(zip(axes.keys(), combo, strict=True))
                on_hand = rng.choice([0, 3, 5, 8, 12, 20, 35, 50, 100])
                bump = 0 if n == 0 else rng.choice([0, 0, 500, 1000])
                sku = f"{code}-{sequence:03d}-{n + 1:02d}"
                variants.append(VariantSpec(sku, options, base_price + bump, "USD", on_hand))
            spec = ProductSpec(
                name=name,
                slug=slug,
                category=category,
                description=(f"The {name} from our {category.lower()} range: "
                             f"{rng.choice(_CLAIMS)}."),
                images=[f"https://images.supershop.example/{slug}/{k}.jpg" for k in range(1, rng.randint(2, 4))],
                variants=variants,
            )
            product_id = stable_id("product", slug)
            variant_ids = [stable_id("variant", v.sku) for v in variants]
            created = EPOCH + timedelta(hours=sequence * 7 + rng.randint(0, 6))
            products.append((product_id, created, validate_new_product(spec), variant_ids))
            sequence += 1
    return products


def demo_documents() -> list[dict[str, Any]]:
    return [new_product_doc(spec, pid, created, vids) for pid, created, spec, vids in demo_specs()]


async def seed(store: CatalogStore) -> int:
    """Insert the demo products that are missing (by id); returns how many were inserted."""
    inserted = 0
    for doc in demo_documents():
        if await store.upsert_seed(doc):
            inserted += 1
    log.info("demo catalog: %d products inserted, %d already there", inserted, len(demo_documents()) - inserted)
    return inserted
