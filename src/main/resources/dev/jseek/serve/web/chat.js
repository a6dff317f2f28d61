// jseek web chat: talks to this server's OpenAI-compatible API with streaming (Server-Sent Events over fetch).
// The conversation lives in this page only. No dependencies, nothing loaded from elsewhere.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const messagesEl = $("messages"), input = $("input"), sendBtn = $("send"), stopBtn = $("stop"), statusEl = $("status");
  const history = [];          // [{role, content}] of finished turns
  let controller = null;       // AbortController of the running generation

  const settingIds = ["system", "temperature", "top-p", "top-k", "max-tokens", "seed", "mode", "api-key"];
  for (const id of settingIds) {           // settings survive a reload
    const saved = localStorage.getItem("jseek." + id);
    if (saved !== null) $(id).value = saved;
    $(id).addEventListener("change", () => localStorage.setItem("jseek." + id, $(id).value));
  }
  $("toggle-settings").addEventListener("click", () => {
    const s = $("settings");
    s.hidden = !s.hidden;
    $("toggle-settings").setAttribute("aria-expanded", String(!s.hidden));
  });
  $("new-chat").addEventListener("click", () => {
    if (controller) controller.abort();
    history.length = 0;
    messagesEl.textContent = "";
    statusEl.textContent = "";
  });

  function headers() {
    const h = {"Content-Type": "application/json"};
    const key = $("api-key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  fetch("v1/models", {headers: headers()}).then((r) => r.json()).then((j) => {
    if (j.data && j.data.length) $("model").textContent = j.data[0].id;
  }).catch(() => {});

  // Renders text with ``` fenced blocks as code and `spans` as inline code; everything through textContent.
  function render(el, text) {
    el.textContent = "";
    const parts = text.split("```");
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        const nl = part.indexOf("\n");
        const lang = nl > 0 ? part.slice(0, nl).trim() : "";
        const pre = document.createElement("pre"), code = document.createElement("code");
        if (lang && /^[\w+-]+$/.test(lang)) code.className = "language-" + lang;
        code.textContent = nl >= 0 ? part.slice(nl + 1) : part;
        pre.appendChild(code);
        el.appendChild(pre);
      } else {
        part.split("`").forEach((seg, j) => {
          if (j % 2 === 1) {
            const c = document.createElement("code");
            c.className = "inline";
            c.textContent = seg;
            el.appendChild(c);
          } else {
            el.appendChild(document.createTextNode(seg));
          }
        });
      }
    });
  }

  function addMessage(role, text) {
    const div = document.createElement("div");
    div.className = "msg " + role;
    const body = document.createElement("span");
    body.className = "body";
    div.appendChild(body);
    div.dataset.raw = text;
    render(body, text);
    messagesEl.appendChild(div);
    messagesEl.scrollTop = messagesEl.scrollHeight;
    return div;
  }

  function number(id, parse) {
    const v = $(id).value.trim();
    if (v === "") return undefined;
    const n = parse(v);
    return Number.isFinite(n) ? n : undefined;
  }

  function requestBody(userText) {
    const body = {stream: true, stream_options: {include_usage: true}};
    const t = number("temperature", parseFloat), p = number("top-p", parseFloat), k = number("top-k", (v) => parseInt(v, 10));
    const max = number("max-tokens", (v) => parseInt(v, 10)), seed = number("seed", (v) => parseInt(v, 10));
    if (t !== undefined) body.temperature = t;
    if (p !== undefined) body.top_p = p;
    if (k !== undefined && k > 0) body.top_k = k;
    if (max !== undefined) body.max_tokens = max;
    if (seed !== undefined) body.seed = seed;
    if ($("mode").value === "completion") {
      body.prompt = history.map((m) => m.content).join("") + userText;
      return ["v1/completions", body];
    }
    const msgs = [];
    const sys = $("system").value.trim();
    if (sys) msgs.push({role: "system", content: sys});
    body.messages = msgs.concat(history, [{role: "user", content: userText}]);
    return ["v1/chat/completions", body];
  }

  async function send(userText) {
    const [url, body] = requestBody(userText);
    addMessage("user", userText);
    const div = addMessage("assistant", "");
    div.classList.add("streaming");
    const bodyEl = div.querySelector(".body");
    let text = "", reasoning = "", reasoningEl = null, finish = null, usage = null, stopped = false;
    controller = new AbortController();
    sendBtn.disabled = true;
    stopBtn.disabled = false;
    statusEl.textContent = "generating…";
    const t0 = performance.now();
    let tFirst = 0, renderTimer = 0;
    // re-render at most every 50 ms: a fast stream must not keep the page busy with layout
    const flush = () => {
      renderTimer = 0;
      div.dataset.raw = text;
      render(bodyEl, text);
      if (reasoning) {  // a thinking model's reasoning_content, folded above the reply
        if (!reasoningEl) {
          reasoningEl = document.createElement("details");
          reasoningEl.className = "reasoning";
          reasoningEl.open = true;
          reasoningEl.appendChild(document.createElement("summary")).textContent = "reasoning";
          reasoningEl.appendChild(document.createElement("div"));
          div.insertBefore(reasoningEl, bodyEl);
        }
        reasoningEl.lastChild.textContent = reasoning;
      }
      messagesEl.scrollTop = messagesEl.scrollHeight;
    };
    const scheduleRender = () => { if (!renderTimer) renderTimer = setTimeout(flush, 50); };
    try {
      const r = await fetch(url, {method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal});
      if (!r.ok) {
        let msg = r.status + " " + r.statusText;
        try { msg = (await r.json()).error.message; } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true});
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") continue;
            const j = JSON.parse(data);
            if (j.error) throw new Error(j.error.message);
            if (j.usage) usage = j.usage;
            const c = j.choices && j.choices[0];
            if (!c) continue;
            const piece = c.delta ? c.delta.content : c.text;
            if (c.delta && c.delta.reasoning_content) {
              if (!tFirst) tFirst = performance.now();
              reasoning += c.delta.reasoning_content;
              scheduleRender();
            }
            if (piece) {
              if (!tFirst) tFirst = performance.now();
              text += piece;
              scheduleRender();
            }
            if (c.finish_reason) finish = c.finish_reason;
          }
        }
      }
    } catch (e) {
      if (e.name === "AbortError") {
        stopped = true;
      } else {
        div.classList.add("error");
        render(bodyEl, text + (text ? "\n" : "") + "Error: " + e.message);
      }
    } finally {
      if (renderTimer) clearTimeout(renderTimer);
      if (!div.classList.contains("error")) flush();
      controller = null;
      sendBtn.disabled = false;
      stopBtn.disabled = true;
      div.classList.remove("streaming");
      div.classList.add(stopped ? "stopped" : "done");
    }
    history.push({role: "user", content: userText});
    if ($("mode").value === "completion") history[history.length - 1].content = userText;
    history.push({role: "assistant", content: text});
    const secs = (performance.now() - t0) / 1000;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (stopped ? "stopped" : (finish || "")) + (usage ? " · " + usage.completion_tokens + " tokens" : "")
        + (tFirst ? " · first token " + Math.round(tFirst - t0) + " ms" : "") + " · " + secs.toFixed(1) + " s";
    div.appendChild(meta);
    statusEl.textContent = stopped ? "stopped" : "";
  }

  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim() || controller) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("form").requestSubmit();
    }
  });
  stopBtn.addEventListener("click", () => { if (controller) controller.abort(); });
})();
