// The programme Mini App: days as tabs, filters by venue and topic, search as you type, session details
// and bookmarks (the same ones as /myagenda), through the bot's JSON API. Talks to Telegram with its
// documented Mini App events directly, so nothing is loaded from another host.
"use strict";
(() => {
  // ------------------------------------------------------------------ Telegram
  const launch = new URLSearchParams(location.hash.slice(1));
  const store = (key, value) => {
    try {
      if (value) sessionStorage.setItem(key, value);
      return sessionStorage.getItem(key) || "";
    } catch (e) {
      return value || "";
    }
  };
  const initData = store("tgWebAppData", launch.get("tgWebAppData"));
  const themeRaw = store("tgWebAppThemeParams", launch.get("tgWebAppThemeParams"));

  function postEvent(type, data) {
    const payload = JSON.stringify(data || {});
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, payload);
      else if (window.external && "notify" in window.external)
        window.external.notify(JSON.stringify({ eventType: type, eventData: data || {} }));
      else if (window.parent !== window)
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*");
    } catch (e) {
      /* not inside Telegram */
    }
  }
  const handlers = {};
  function receive(type, data) {
    if (handlers[type]) handlers[type](data || {});
  }
  window.Telegram = window.Telegram || {};
  window.Telegram.WebView = { receiveEvent: receive };
  window.TelegramGameProxy = { receiveEvent: receive }; // the name some clients still call
  window.TelegramGameProxy_receiveEvent = receive;
  window.addEventListener("message", (event) => {
    try {
      const message = JSON.parse(event.data);
      if (message && message.eventType) receive(message.eventType, message.eventData);
    } catch (e) {
      /* not a Telegram event */
    }
  });

  function applyTheme(params) {
    const root = document.documentElement;
    let bg = null;
    for (const [key, value] of Object.entries(params || {})) {
      if (typeof value !== "string" || !/^#[0-9a-f]{3,8}$/i.test(value)) continue;
      root.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
      if (key === "bg_color") bg = value;
    }
    if (!bg) return;
    root.classList.add("tg");
    const hex = bg.length === 4 ? bg.replace(/(\w)/g, "$1$1").slice(1) : bg.slice(1, 7);
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    root.classList.toggle("dark", 0.2126 * r + 0.7152 * g + 0.0722 * b < 120);
  }
  try {
    applyTheme(JSON.parse(themeRaw || "{}"));
  } catch (e) {
    /* no theme given */
  }
  handlers.theme_changed = (data) => applyTheme(data.theme_params);

  const haptic = (style) =>
    postEvent("web_app_trigger_haptic_feedback", { type: "impact", impact_style: style || "light" });
  function openLink(url) {
    if (window.TelegramWebviewProxy || window.parent !== window) postEvent("web_app_open_link", { url });
    else window.open(url, "_blank", "noopener");
  }

  // ------------------------------------------------------------------ state
  const $ = (id) => document.getElementById(id);
  const state = { day: null, venue: "", topic: "", mine: false, query: "", open: null };
  let data = null;
  let starred = new Set();
  let t = {};

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child) el.append(child);
    return el;
  }

  // Lower case, compatibility forms folded, spaces, punctuation and name separators removed.
  const normalise = (s) =>
    (s || "")
      .normalize("NFKC")
      .toLowerCase()
      .replace(/[\p{P}\p{Z}\p{C}\s·・•‧]/gu, "");

  async function api(method, path) {
    const response = await fetch(`api/${path}`, {
      method,
      headers: { Authorization: `tma ${initData}` },
      cache: "no-store",
    });
    if (!response.ok) {
      const error = new Error(`HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  let toastTimer = 0;
  function toast(message) {
    const el = $("toast");
    el.textContent = message;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.hidden = true), 2200);
  }
  const failure = (error) =>
    error && error.status === 401 ? t.error_auth : error && error.status === 429 ? t.error_rate : t.error_network;

  // ------------------------------------------------------------------ list
  function matches(session, terms) {
    if (state.venue && session.venue !== state.venue) return false;
    if (state.topic && !session.tags.includes(state.topic)) return false;
    if (state.mine && !starred.has(session.id)) return false;
    if (terms.length) return terms.every((term) => session.haystack.includes(term));
    return state.mine || session.day === state.day; // searches and "Mine" span every day
  }

  function starButton(session) {
    const on = starred.has(session.id);
    return h("button", {
      type: "button",
      class: "star",
      "aria-pressed": String(on),
      "aria-label": on ? t.star_remove : t.star_add,
      "data-star": session.id,
      text: "★",
      onclick: (event) => {
        event.stopPropagation();
        toggle(session);
      },
    });
  }

  function card(session) {
    const meta = [session.place, session.speakers.map((s) => s.name).join(", ")].filter(Boolean);
    return h(
      "article",
      { class: "card", "data-session": session.id, tabindex: "0", onclick: () => openDetail(session.id),
        onkeydown: (e) => e.key === "Enter" && openDetail(session.id) },
      h(
        "div",
        { class: "body" },
        h("div", { class: "time", text: session.time || t.time_not_published }),
        h("div", { class: "title", text: session.title }),
        meta.length ? h("div", { class: "meta", text: meta.join(" · ") }) : null
      ),
      starButton(session)
    );
  }

  function renderList() {
    const terms = state.query.split(/\s+/).map(normalise).filter(Boolean);
    $("days").classList.toggle("searching", terms.length > 0 || state.mine);
    for (const tab of $("days").children) tab.setAttribute("aria-selected", String(tab.dataset.day === state.day));
    const found = data.sessions.filter((s) => matches(s, terms));
    const list = $("list");
    list.replaceChildren();
    if (!found.length) {
      list.append(h("p", { class: "empty", text: t.no_results }));
      if (state.venue || state.topic || state.mine || terms.length)
        list.append(h("button", { type: "button", class: "action secondary", text: t.clear, onclick: clearFilters }));
    } else if (terms.length || state.mine) {
      for (const day of data.days) {
        const ofDay = found.filter((s) => s.day === day.key);
        if (ofDay.length) list.append(h("h2", { text: day.label }), ...ofDay.map(card));
      }
    } else {
      const day = data.days.find((d) => d.key === state.day);
      list.append(h("h2", { text: day ? day.label : "" }), ...found.map(card));
    }
    if (data.zone) list.append(h("p", { class: "note", text: t.zone_note.replace("{zone}", data.zone) }));
  }

  function clearFilters() {
    Object.assign(state, { venue: "", topic: "", mine: false, query: "" });
    $("venue").value = "";
    $("topic").value = "";
    $("q").value = "";
    $("mine").setAttribute("aria-pressed", "false");
    renderList();
  }

  // ------------------------------------------------------------------ detail
  function openDetail(id) {
    const session = data.sessions.find((s) => s.id === id);
    if (!session) return;
    state.open = id;
    const day = data.days.find((d) => d.key === session.day);
    const on = starred.has(id);
    const place = session.place
      ? h("div", { class: "row" }, "📍 " + session.place,
          session.map ? h("a", { href: session.map, text: t.map, onclick: (e) => { e.preventDefault(); openLink(session.map); } }) : null)
      : h("div", { class: "row", text: "📍 " + t.venue_not_published });
    const time = session.time ? `${session.time}${data.zone ? ` (${data.zone})` : ""}` : t.time_not_published;
    const topics = session.topics.length ? h("div", { class: "tags" }, session.topics.map((x) => h("span", { text: x }))) : null;
    const speakers = session.speakers.length
      ? h("div", { class: "section" }, h("h2", { text: t.speakers }),
          h("ul", {}, session.speakers.map((s) => h("li", {}, s.name, s.role ? h("small", { text: s.role }) : null))))
      : null;
    const detail = $("detail");
    detail.replaceChildren(
      h("div", { class: "head" },
        h("button", { type: "button", class: "back", text: t.back, onclick: closeDetail }),
        h("h1", { text: session.title }),
        h("div", { class: "row", text: "🗓 " + (day ? day.label : t.undated) }),
        h("div", { class: "row", text: "🕘 " + time }),
        place,
        topics),
      h("button", { type: "button", class: "action", id: "detail-star", "aria-pressed": String(on),
        text: (on ? "✅ " : "⭐ ") + (on ? t.star_remove : t.star_add), onclick: () => toggle(session) }),
      h("button", { type: "button", class: "action secondary", id: "ask", text: t.ask, onclick: () => ask(session) }),
      speakers,
      h("div", { class: "section" }, h("p", { text: session.summary }))
    );
    detail.hidden = false;
    detail.scrollTop = 0;
    postEvent("web_app_setup_back_button", { is_visible: true });
  }

  function closeDetail() {
    state.open = null;
    $("detail").hidden = true;
    postEvent("web_app_setup_back_button", { is_visible: false });
    renderList();
  }
  handlers.back_button_pressed = closeDetail;

  // ------------------------------------------------------------------ actions
  async function toggle(session) {
    const on = !starred.has(session.id);
    haptic(on ? "medium" : "light");
    on ? starred.add(session.id) : starred.delete(session.id);
    refreshStars();
    try {
      const result = await api(on ? "PUT" : "DELETE", `bookmarks/${encodeURIComponent(session.id)}`);
      starred = new Set(result.starred);
      toast(on ? t.starred : t.unstarred);
    } catch (error) {
      on ? starred.delete(session.id) : starred.add(session.id);
      toast(failure(error));
    }
    refreshStars();
  }

  function refreshStars() {
    for (const button of document.querySelectorAll("[data-star]")) {
      const on = starred.has(button.dataset.star);
      button.setAttribute("aria-pressed", String(on));
      button.setAttribute("aria-label", on ? t.star_remove : t.star_add);
    }
    const detailStar = $("detail-star");
    if (detailStar && state.open) {
      const on = starred.has(state.open);
      detailStar.setAttribute("aria-pressed", String(on));
      detailStar.textContent = (on ? "✅ " : "⭐ ") + (on ? t.star_remove : t.star_add);
    }
    if (state.mine && !state.open) renderList();
  }

  async function ask(session) {
    try {
      await api("POST", `ask/${encodeURIComponent(session.id)}`);
      toast(t.ask_sent);
      setTimeout(() => postEvent("web_app_close", {}), 900);
    } catch (error) {
      toast(failure(error));
    }
  }

  // ------------------------------------------------------------------ start
  function option(value, label) {
    return h("option", { value, text: label });
  }

  function build() {
    document.documentElement.lang = data.lang;
    document.title = t.title;
    $("q").placeholder = t.search;
    $("q").setAttribute("aria-label", t.search);
    $("venue").setAttribute("aria-label", t.venue_filter);
    $("topic").setAttribute("aria-label", t.topic_filter);
    $("venue").replaceChildren(option("", t.all_venues), ...data.venues.map((v) => option(v.id, v.name)));
    $("topic").replaceChildren(option("", t.all_topics), ...data.topics.map((x) => option(x.id, x.name)));
    $("venue").hidden = data.venues.length === 0;
    $("topic").hidden = data.topics.length === 0;
    $("mine").textContent = t.mine;
    $("days").replaceChildren(
      ...data.days.map((day) =>
        h("button", { type: "button", role: "tab", class: "day", "data-day": day.key, title: day.label,
          onclick: () => { state.day = day.key; state.query = ""; $("q").value = ""; renderList(); } },
          h("b", { text: day.short }), h("small", { text: day.weekday || "\u00a0" }))
      )
    );
    for (const session of data.sessions) {
      session.haystack = [session.title, session.summary, session.place, ...session.topics,
        ...session.speakers.flatMap((s) => [s.name, s.role]), ...session.also].map(normalise).join("\n");
    }
    // The first day with a session still to come, else the first day.
    const today = new Date().toISOString().slice(0, 10);
    const next = data.days.find((d) => d.key >= today && d.key !== "undated");
    state.day = (next || data.days[0] || {}).key || null;
    $("bar").hidden = false;
  }

  async function load() {
    $("list").replaceChildren(h("div", { class: "spinner", role: "status" }));
    try {
      const result = await api("GET", "programme");
      data = result.programme;
      t = data.texts;
      starred = new Set(result.starred);
      build();
      renderList();
      $("app").setAttribute("aria-busy", "false");
      performance.mark("programme-rendered");
      document.body.dataset.ready = "1";
    } catch (error) {
      // The page's texts come with the programme; before it, the browser's language picks these.
      const fallback = {
        en: ["This page works inside Telegram: open it from the bot's Programme button.", "The bot cannot be reached right now. Please try again.", "Try again"],
        zh: ["此页面需在 Telegram 中打开：请点击机器人的“日程”按钮。", "暂时无法连接机器人，请重试。", "重试"],
        th: ["หน้านี้ใช้งานใน Telegram: เปิดจากปุ่มกำหนดการของบอท", "ไม่สามารถติดต่อบอทได้ในขณะนี้ กรุณาลองอีกครั้ง", "ลองอีกครั้ง"],
      };
      const words = fallback[(navigator.language || "en").slice(0, 2)] || fallback.en;
      const auth = error && error.status === 401;
      $("list").replaceChildren(
        h("p", { class: "error", text: auth ? words[0] : words[1] }),
        auth ? null : h("button", { type: "button", class: "action", text: words[2], onclick: load })
      );
      $("app").setAttribute("aria-busy", "false");
      document.body.dataset.ready = "error";
    }
  }

  $("q").addEventListener("input", (event) => {
    state.query = event.target.value;
    renderList();
  });
  $("venue").addEventListener("change", (event) => {
    state.venue = event.target.value;
    renderList();
  });
  $("topic").addEventListener("change", (event) => {
    state.topic = event.target.value;
    renderList();
  });
  $("mine").addEventListener("click", () => {
    state.mine = !state.mine;
    $("mine").setAttribute("aria-pressed", String(state.mine));
    renderList();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.open) closeDetail();
  });

  postEvent("web_app_ready");
  postEvent("web_app_expand");
  postEvent("web_app_set_header_color", { color_key: "bg_color" });
  postEvent("web_app_request_theme");
  load();
})();
