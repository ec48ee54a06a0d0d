"""Ten extraction and classification schemas with a prompt each, for the structured-output benchmark.

Free-text strings carry a maxLength: the tiny model's output is noise, and noise never closes an unbounded string.
"""

from __future__ import annotations

from typing import Any

# The issue's "realistic schema": an object of 8 typed fields, one enum, one array. Also the speed schema.
PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "email": {"type": "string", "maxLength": 60},
        "city": {"type": "string", "maxLength": 40},
        "score": {"type": "number", "minimum": 0, "maximum": 100},
        "active": {"type": "boolean"},
        "role": {"enum": ["admin", "editor", "viewer"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 4},
    },
    "required": ["name", "age", "email", "city", "score", "active", "role", "tags"],
}
PERSON_PROMPT = (
    "Maria Lopez, 34, lives in Valencia and writes for the site as an editor. Her address is maria@example.org, "
    "her account is active, her review score is 87.5 and she covers travel, food and cycling. Record her."
)

SCHEMAS: list[tuple[str, dict[str, Any], str]] = [
    ("person", PERSON, PERSON_PROMPT),
    (
        "invoice",
        {
            "type": "object",
            "properties": {
                "supplier": {"type": "string", "maxLength": 40},
                "date": {"type": "string", "format": "date"},
                "total": {"type": "number", "minimum": 0},
                "currency": {"enum": ["EUR", "USD", "GBP"]},
                "paid": {"type": "boolean"},
            },
            "required": ["supplier", "date", "total", "currency", "paid"],
        },
        "Invoice 2291 from Acme Tools Ltd, dated 3 March 2025: 4 hammers, total 119.60 GBP, payment due in 30 days.",
    ),
    (
        "ticket",
        {
            "type": "object",
            "properties": {
                "category": {"enum": ["bug", "feature", "question"]},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                "summary": {"type": "string", "maxLength": 60},
            },
            "required": ["category", "priority", "summary"],
        },
        "Ticket: 'Since the last update the app crashes every time I press Save. I lose all my work!'",
    ),
    (
        "sentiment",
        {
            "type": "object",
            "properties": {
                "label": {"enum": ["positive", "negative", "neutral"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["label", "confidence"],
        },
        "Review: 'The hotel was spotless and the staff were lovely, but breakfast was cold.' Classify the sentiment.",
    ),
    (
        "address",
        {
            "type": "object",
            "properties": {
                "street": {"type": "string", "maxLength": 40},
                "city": {"type": "string", "maxLength": 30},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                "country": {"enum": ["DE", "FR", "ES", "IT", "US"]},
            },
            "required": ["street", "city", "zip", "country"],
        },
        "Send it to Hauptstrasse 12, 10115 Berlin, Germany.",
    ),
    (
        "meeting",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 50},
                "attendees": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "maxLength": 30},
                            "role": {"type": "string", "maxLength": 20},
                        },
                        "required": ["name"],
                    },
                    "minItems": 1,
                    "maxItems": 4,
                },
                "minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            },
            "required": ["title", "attendees", "minutes"],
        },
        "Budget review on Friday, one hour, with Tom (finance lead) and Priya.",
    ),
    (
        "recipe",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 40},
                "servings": {"type": "integer", "minimum": 1, "maximum": 12},
                "ingredients": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 30},
                    "minItems": 2,
                    "maxItems": 6,
                },
                "vegetarian": {"type": "boolean"},
            },
            "required": ["name", "servings", "ingredients", "vegetarian"],
        },
        "Pancakes for four: 200 g flour, 2 eggs, 300 ml milk, a pinch of salt, butter for the pan.",
    ),
    (
        "product",
        {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "price": {"type": "number", "minimum": 0},
                "in_stock": {"type": "boolean"},
                "brand": {"anyOf": [{"type": "string", "maxLength": 20}, {"type": "null"}]},
            },
            "required": ["sku", "price", "in_stock", "brand"],
        },
        "Item KLM-4821, a steel water bottle, 24.99 EUR, currently sold out; no brand printed on it.",
    ),
    (
        "schedule",
        {
            "$defs": {
                "time": {
                    "type": "object",
                    "properties": {
                        "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                        "minute": {"type": "integer", "minimum": 0, "maximum": 59},
                    },
                    "required": ["hour", "minute"],
                }
            },
            "type": "object",
            "properties": {"start": {"$ref": "#/$defs/time"}, "end": {"$ref": "#/$defs/time"}},
            "required": ["start", "end"],
        },
        "The workshop runs from half past nine in the morning until a quarter to one.",
    ),
    (
        "word_counts",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "word": {"type": "string", "maxLength": 15},
                    "count": {"type": "integer", "minimum": 1, "maximum": 99},
                },
                "required": ["word", "count"],
            },
            "minItems": 1,
            "maxItems": 5,
        },
        "Count the words: 'the cat saw the dog and the dog saw the cat'.",
    ),
]
