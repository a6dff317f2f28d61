#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2, as an oracle for jseek's hand-written renderers
(dev.jseek.tokenizer.ChatTemplateJinjaTest, beside tools/render-chat-template.mjs). The environment is the one HF
transformers' apply_chat_template builds (trim_blocks, lstrip_blocks, loop controls, its tojson: json.dumps with
ensure_ascii False), except that the sandbox lets templates call list methods (.append, .pop), as llama.cpp's template
engine does: transformers' immutable sandbox refuses them, and Kimi-K2-Instruct's template uses them for tool calls.
Input: a JSON array of cases {template, messages, bos_token, eos_token, add_generation_prompt, optional thinking};
output: {"results": [{"text": "..."} | {"error": "..."}]}, one per case, in order.
Usage: python3 tools/render-chat-template.py CASES.json   (needs jinja2: Debian python3-jinja2)"""
import json
import sys

import jinja2.ext
from jinja2.sandbox import SandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
compiled = {}
results = []
for c in json.load(open(sys.argv[1], encoding="utf-8")):
    try:
        t = compiled.get(c["template"])
        if t is None:
            t = compiled[c["template"]] = env.from_string(c["template"])
        ctx = dict(messages=c["messages"], bos_token=c["bos_token"], eos_token=c["eos_token"],
                   add_generation_prompt=c["add_generation_prompt"])
        if "thinking" in c:
            ctx["thinking"] = c["thinking"]
        results.append({"text": t.render(**ctx)})
    except Exception as e:  # a template error is a result: jseek must refuse the same conversation
        results.append({"error": type(e).__name__ + ": " + str(e)})
sys.stdout.write(json.dumps({"results": results}, ensure_ascii=False))
