#!/usr/bin/env python3
"""Renders Jinja templates with Python's jinja2, as the oracle for jseek's template engine (dev.jseek.jinja:
JinjaFeaturesTest, RealChatTemplatesTest). The environment is the one tools/render-chat-template.py builds, i.e. the
one HF transformers' apply_chat_template builds (trim_blocks, lstrip_blocks, loop controls, its tojson: json.dumps
with ensure_ascii False, raise_exception), except that the sandbox lets templates call list methods (.append, .pop),
as llama.cpp's template engine does, plus what apply_chat_template adds besides: the global strftime_now(fmt), here
formatting the case's fixed clock instead of the current time, and the {% generation %}...{% endgeneration %} tag of
its AssistantTracker extension (a call block rendering its body; assistant-mask tracking is not reproduced).
Input: a JSON array of cases {template, context (an object: the template's variables), optional now
("YYYY-MM-DDTHH:MM:SS", default 2026-01-15T09:05:07)}; output: {"results": [{"text": "..."} | {"error": "Type: msg"}]},
one per case, in order (a syntax error is an error result too).
Usage: python3 tools/render-jinja.py CASES.json   (needs jinja2: Debian python3-jinja2)"""
import datetime
import json
import sys

import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import SandboxedEnvironment

DEFAULT_NOW = "2026-01-15T09:05:07"


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


now = [datetime.datetime.fromisoformat(DEFAULT_NOW)]


def strftime_now(format):
    return now[0].strftime(format)


class Generation(jinja2.ext.Extension):
    """transformers' AssistantTracker, parsing as it does, without the tracking (it is off unless masks are asked for)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now
compiled = {}
results = []
for c in json.load(open(sys.argv[1], encoding="utf-8")):
    try:
        now[0] = datetime.datetime.fromisoformat(c.get("now") or DEFAULT_NOW)
        t = compiled.get(c["template"])
        if t is None:
            t = compiled[c["template"]] = env.from_string(c["template"])
        results.append({"text": t.render(c.get("context") or {})})
    except Exception as e:  # a template error is a result: jseek must refuse the same case
        results.append({"error": type(e).__name__ + ": " + str(e)})
sys.stdout.buffer.write(json.dumps({"jinja2": jinja2.__version__, "results": results}, ensure_ascii=False).encode("utf-8", "surrogatepass"))
