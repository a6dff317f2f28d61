// Renders chat templates with @huggingface/jinja (the Jinja implementation transformers.js uses; npm, installed by
// tools/fetch-test-data.sh into the npm cache), as an oracle for jseek's hand-written renderers
// (dev.jseek.tokenizer.ChatTemplateJinjaTest). Input: a JSON array of cases {template, messages, bos_token, eos_token,
// add_generation_prompt, optional thinking}; output: {"results": [{"text": "..."} | {"error": "..."}]}, one per case, in order.
//   node tools/render-chat-template.mjs NPM_CACHE_DIR CASES.json
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npm, casesFile] = process.argv.slice(2);
const { Template } = await import(pathToFileURL(path.join(npm, "node_modules", "@huggingface", "jinja", "dist", "index.js")).href);
const cases = JSON.parse(fs.readFileSync(casesFile, "utf8"));
const compiled = new Map();
const results = cases.map((c) => {
  try {
    let t = compiled.get(c.template);
    if (!t) compiled.set(c.template, (t = new Template(c.template)));
    const ctx = { messages: c.messages, bos_token: c.bos_token, eos_token: c.eos_token, add_generation_prompt: c.add_generation_prompt };
    if (c.thinking !== undefined) ctx.thinking = c.thinking; // DeepSeek-V3.1's switch: left undefined unless a case sets it
    return { text: t.render(ctx) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify({ results }));
