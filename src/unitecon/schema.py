"""The inputs file documented two ways: a JSON Schema for editors (`unitecon schema`) and a commented
skeleton to start a new company from (`unitecon new`). Both come from the validation models and the
catalogue's documented inputs, so neither can drift from what the loader accepts."""

from __future__ import annotations

import json
import re

from .model.inputs_schema import InputsFileSpec
from .model.metrics.catalogue import Catalogue, show

SCHEMA_FILE = "unitecon.schema.json"  # next to the inputs files; their first line points editors at it


def _pattern(name: str) -> str:
    """A regular expression for an input name pattern: ``revenue_{ccy}`` -> ``^revenue_[a-z]{3}$``."""
    parts = re.split(r"(\{[a-z]+\})", name)
    return "^" + "".join("[a-z]{3}" if p.startswith("{") else re.escape(p) for p in parts) + "$"


def inputs_schema(catalogue: Catalogue) -> dict:
    """JSON Schema (2020-12) of an inputs file: its sections from the validation models, and under ``inputs:``
    every name the catalogue reads with what it is (any other snake_case key is allowed: products, segments
    and published figures name their own inputs)."""
    schema = InputsFileSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "unitecon inputs file"
    schema["description"] = ("Cited figures for one company's unit-economics workbook. Every value has a source: a "
                             "document and an exact quote from it, or an assumption with its rationale.")
    published = schema["properties"]["published"]
    published["additionalProperties"] = {"anyOf": [{"type": "string", "description": "the input holding the "
                                                    "printed figure (rule match, tolerance conflict_tolerance)"},
                                                   published["additionalProperties"]]}
    spec = {"$ref": "#/$defs/InputSpec"}
    named, patterned = {}, {}
    for item in catalogue.inputs:
        text = f"{item.label} ({show(item.unit)}, {item.kind}, {item.grain}). {item.description}"
        if "{" in item.name:
            patterned[_pattern(item.name)] = {**spec, "description": f"{show(item.name)}: {text}"}
        else:
            named[item.name] = {**spec, "description": text}
    schema["properties"]["inputs"] = {
        "type": "object", "minProperties": 1, "properties": named, "patternProperties": patterned,
        "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"}, "additionalProperties": spec,
        "description": "Each cited figure, by snake_case key. The catalogue reads the names listed here; any "
                       "other key is read through a section that names it: products: (revenue, paying_users, "
                       "reported_arppu, press_arppu), segments: (revenue, share, gross_margin, customers, "
                       "press_revenue_per_customer), published:, forward:, sensitivity: and ledger:. An exchange "
                       "rate is any key whose unit is <A>_per_<B>.",
    }
    return schema


def schema_text(catalogue: Catalogue) -> str:
    return json.dumps(inputs_schema(catalogue), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


_HEADER = """\
# yaml-language-server: $schema={schema}
# {name} — cited inputs for a unitecon workbook (written by `unitecon new`). Uncomment what the documents give.
#
# How to write this file:
#   * Every number in FULL units (1.89亿 is 189000000) in the currency its unit names; percentages as
#     fractions (28.9% is 0.289). Costs and losses are POSITIVE amounts.
#   * Every value has a source: a document (a UTF-8 text file in sources/ next to this file, listed under
#     documents:) and a quote copied EXACTLY from it, or `assumption: <why>` for an analyst's choice.
#   * kind: flow (an amount over the period, summed over time), balance (at the period end) or rate (a ratio,
#     price or multiple). grain: period (values: per period id) or scalar (one value: with its period:).
#   * `unitecon catalogue` lists every metric and what it needs; `unitecon build --explain` says which
#     metrics this file does not give enough for, and why.
"""

_SECTIONS = """
# Headline metrics shown first on the Summary: metric -> period id (or scalar).
# headlines:
#   compute_to_revenue: FY2024

# Consumer product lines: each gets ARPPU rows (period, per month, annualised, and in convert_to currencies).
# products:
#   main_app:
#     label: "Main app (subscriptions)"
#     revenue: main_app_revenue_{ccy}        # an input in {CCY}; or {{total: <input>, less: [<input>, …]}}
#     paying_users: main_app_paying_users
#     reported_arppu: main_app_arppu_reported_{ccy}   # optional: the ARPPU the company reports ({CCY}/user)
#     press_arppu: main_app_arppu_press_{ccy}         # optional: a press estimate per user per year

# Business segments: one of revenue:, share: or rest: true each; margins and customers optional.
# segments:
#   api:
#     label: "API (business customers)"
#     share: api_revenue_share
#     gross_margin: api_gross_margin
#     customers: api_customers
#   apps:
#     label: "Apps"
#     rest: true

# Figures the documents print that a metric should reproduce; each becomes a check.
# published:
#   sd_to_revenue: sd_to_revenue_published
#   revenue_growth_yoy: {{input: revenue_growth_published, rule: at_least}}

# Other currencies to show ARPPU and revenue in (each needs an exchange-rate input such as cny_per_{ccy}).
# convert_to: [CNY]

# Scenarios (the first is each input's value:), the forward view and a sensitivity grid: see the README.
# scenarios: [base, bull, bear]
# forward: {{payers: <paying-user input>, arppu: <annual revenue per payer metric>}}
"""


def skeleton(name: str, currency: str, catalogue: Catalogue) -> str:
    """A new inputs file for model ``name``: the required keys to fill in, every other section and every input
    the catalogue reads commented out."""
    ccy = currency.lower()
    lines = [_HEADER.format(schema=SCHEMA_FILE, name=name),
             f"model: {name}",
             'company: "TODO: the company\'s name"',
             f"currency: {currency}   # ISO 4217 code of the reporting currency",
             "",
             "documents:   # each cited document: a UTF-8 text file in sources/ next to this file",
             '  # source_1.txt: {title: "The document\'s own title", publisher: "Who published it", '
             'published: "2025-12"}',
             "",
             "periods:     # the time axis, left to right; a period containing another (an estimate for a full "
             "year",
             "             # that contains a reported half) is marked overlay: true and listed last",
             '  # FY2024: {label: "FY2024", start: 2024-01-01, end: 2024-12-31, months: 12}',
             _SECTIONS.format(ccy=ccy, CCY=currency),
             "inputs:"]
    section = None
    for item in catalogue.inputs:
        if item.section != section:
            section = item.section
            lines.append(f"  # --- {section} ---")
        key = item.name.replace("{cur}", "hkd").format(ccy=ccy, CCY=currency)
        unit = item.unit.replace("<currency>", "HKD").format(ccy=ccy, CCY=currency)
        lines.append(f"  # {key}:   # {item.description}")
        lines.append(f'  #   label: "{item.label}"')
        lines.append(f"  #   unit: {unit}")
        lines.append(f"  #   kind: {item.kind}")
        lines.append(f"  #   grain: {item.grain}")
        if item.grain == "period":
            lines.append("  #   values:")
            lines.append('  #     FY2024: {value: 0, source: {document: source_1.txt, quote: "exact words"}}')
        else:
            lines.append("  #   period: FY2024")
            lines.append("  #   value: 0")
            lines.append('  #   source: {document: source_1.txt, quote: "exact words"}')
    lines.append("  # cny_per_" + ccy + ":   # an exchange rate: unit <A>_per_<B> is A per one B, e.g. CNY_per_"
                 + currency)
    return "\n".join(lines) + "\n"
