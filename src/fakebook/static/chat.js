// fakebook chat simulator: renders a Messenger thread from the control API and sends the
// person's messages, quick replies and postbacks back through it (which signs and delivers the
// webhook). Plain DOM code, no build step; all bot-supplied text goes in via textContent.
(function () {
  "use strict";
  var app = document.getElementById("chat-app");
  var psid = app.dataset.psid;
  var thread = document.getElementById("thread");
  var quickBox = document.getElementById("quick-replies");
  var webview = document.getElementById("webview");
  var sheet = document.getElementById("webview-sheet");
  var frame = document.getElementById("webview-frame");
  var toast = document.getElementById("toast");
  var person = null;
  var lastSignature = "";
  var HEIGHTS = { compact: "50%", tall: "75%", full: "100%" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function api(path, body) {
    var options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    };
    // The thread is the person's with the page picked in the toolbar (several pages: ?page=).
    var sep = path.indexOf("?") < 0 ? "?" : "&";
    var url = "/_fakebook/chat/" + psid + path + sep + "page=" + encodeURIComponent(app.dataset.pageId);
    return fetch(url, options).then(function (r) { return r.json(); });
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 3500);
  }

  // --- views: "phone" opens web_url buttons in an overlay, "desktop" in a new tab -----------
  function currentView() { return document.body.dataset.view; }
  function setView(view) {
    document.body.dataset.view = view;
    document.getElementById("view-phone").setAttribute("aria-pressed", view === "phone");
    document.getElementById("view-desktop").setAttribute("aria-pressed", view === "desktop");
    var url = new URL(window.location.href);
    url.searchParams.set("view", view);
    history.replaceState(null, "", url.toString());
  }
  var initial = app.dataset.view;
  if (initial !== "phone" && initial !== "desktop") {
    initial = window.matchMedia("(max-width: 600px)").matches ? "phone" : "desktop";
  }
  setView(initial);
  document.querySelectorAll(".view-toggle button").forEach(function (button) {
    button.addEventListener("click", function () { setView(button.dataset.view); });
  });

  function openWebview(url, ratio) {
    sheet.style.height = HEIGHTS[ratio] || HEIGHTS.full;
    document.getElementById("webview-url").textContent = url;
    frame.src = url;
    webview.hidden = false;
  }
  function closeWebview() {
    webview.hidden = true;
    frame.src = "about:blank";
  }
  document.getElementById("webview-close").addEventListener("click", closeWebview);

  function openUrl(url, button) {
    if (currentView() === "phone") {
      openWebview(url, button && button.webview_height_ratio);
    } else {
      window.open(url, "_blank");
    }
  }

  // --- Messenger Extensions bridge: the SDK shim inside the overlay talks to us here ----------
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== frame.contentWindow || typeof data.fakebook !== "string") { return; }
    var reply = function (message) {
      message.id = data.id;
      event.source.postMessage(message, event.origin === "null" ? "*" : event.origin);
    };
    if (data.fakebook === "mx-hello") {
      reply({ fakebook: "mx-ready", psid: psid, page_id: app.dataset.pageId });
    } else if (data.fakebook === "mx-close") {
      reply({ fakebook: "mx-closed" });
      // Let the reply reach the page before the frame is navigated away.
      setTimeout(closeWebview, 50);
    } else if (data.fakebook === "mx-context") {
      fetch("/_fakebook/chat/" + psid + "/context?app_id=" + encodeURIComponent(data.app_id || ""))
        .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
        .then(function (result) {
          reply({ fakebook: "mx-context", ok: result[0], result: result[1] });
        });
    }
  });

  // --- sending ------------------------------------------------------------------------------
  function afterSend() { poll(); }
  function sendText(text) { return api("/message", { text: text }).then(afterSend); }
  function sendQuickReply(reply) {
    var title = reply.title;
    var payload = reply.payload;
    if (reply.content_type === "user_email") { title = payload = person.email; }
    if (reply.content_type === "user_phone_number") { title = payload = "+15555550100"; }
    return api("/message", { quick_reply: { title: title, payload: payload } }).then(afterSend);
  }
  function sendPostback(title, payload) {
    return api("/postback", { title: title, payload: payload }).then(afterSend);
  }

  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("message-input");
    var text = input.value.trim();
    if (text) { input.value = ""; sendText(text); }
  });
  // The Page Inbox's person (page_inbox.py): reply as the Page, or hand the thread back.
  document.getElementById("inbox-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("inbox-input");
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    api("/inbox/reply", { text: text }).then(afterSend);
  });
  document.getElementById("inbox-hand-back").addEventListener("click", function () {
    api("/inbox/hand_back", {}).then(afterSend);
  });

  var pageSelect = document.getElementById("page-select");
  if (pageSelect) {
    pageSelect.addEventListener("change", function (event) {
      var url = new URL(window.location.href);
      url.searchParams.set("page", event.target.value);
      window.location.href = url.toString();
    });
  }

  document.getElementById("person-select").addEventListener("change", function (event) {
    var url = new URL(window.location.href);
    url.searchParams.set("person", event.target.value);
    window.location.href = url.toString();
  });

  // --- rendering ----------------------------------------------------------------------------
  function buttonNode(button) {
    var label = button.title || (button.type === "account_link" ? "Log in" :
      button.type === "account_unlink" ? "Log out" : button.type);
    var node = el("button", "tmpl-button", label);
    node.type = "button";
    node.dataset.type = button.type;
    node.addEventListener("click", function () {
      if (button.type === "postback") { sendPostback(button.title, button.payload); }
      else if (button.type === "web_url") { openUrl(button.url, button); }
      else if (button.type === "phone_number") { showToast("Messenger would call " + button.payload); }
      else if (currentView() === "desktop") {
        showToast("Account linking works only in the Messenger mobile apps, not on desktop.");
      } else if (button.type === "account_link") { startLinking(button.url); }
      else { unlinkAccount(); }
    });
    return node;
  }

  // --- account linking: each tap mints a token; the bot's page opens in the webview ---------
  function linkingApi(path, body) {
    return fetch("/_fakebook/linking/" + psid + path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) { return r.json(); });
  }
  function startLinking(url) {
    linkingApi("/token", { url: url }).then(function (data) {
      if (data.url) { openWebview(data.url, "full"); }
      else { showToast("Could not start linking: " + (data.error || "fakebook did not answer")); }
    });
  }
  function unlinkAccount() {
    linkingApi("/unlink").then(function () {
      showToast("You logged out of " + document.getElementById("page-name").textContent + ".");
      poll();
    });
  }

  function templateNode(payload) {
    if (payload.template_type === "button") {
      var card = el("div", "tmpl tmpl-buttons");
      card.appendChild(el("p", "tmpl-text", payload.text));
      (payload.buttons || []).forEach(function (b) { card.appendChild(buttonNode(b)); });
      return card;
    }
    var carousel = el("div", "carousel");
    (payload.elements || []).forEach(function (element) {
      var card = el("div", "tmpl tmpl-generic");
      if (element.image_url) {
        var img = el("img", "tmpl-image");
        img.src = element.image_url; img.alt = "";
        card.appendChild(img);
      }
      var title = el("p", "tmpl-title", element.title);
      if (element.default_action) {
        title.classList.add("clickable");
        title.addEventListener("click", function () {
          openUrl(element.default_action.url, element.default_action);
        });
      }
      card.appendChild(title);
      if (element.subtitle) { card.appendChild(el("p", "tmpl-subtitle", element.subtitle)); }
      (element.buttons || []).forEach(function (b) { card.appendChild(buttonNode(b)); });
      carousel.appendChild(card);
    });
    return carousel;
  }

  function outgoingNode(message) {
    if (message.text !== undefined) { return el("div", "bubble", message.text); }
    var attachment = message.attachment || {};
    var payload = attachment.payload || {};
    if (attachment.type === "template") { return templateNode(payload); }
    if (attachment.type === "image" && payload.url) {
      var img = el("img", "bubble-image"); img.src = payload.url; img.alt = "image";
      return img;
    }
    var link = el("a", "bubble", attachment.type + " attachment");
    link.href = payload.url || "#"; link.target = "_blank";
    return link;
  }

  var PAGE_INBOX = "263902037430900";
  var HANDOVER_TEXT = {
    pass_thread_control: function (e) {
      return e.new_owner_app_id === PAGE_INBOX ? "The bot passed you to a person from the Page" :
        "The conversation is back with the bot";
    },
    take_thread_control: function () { return "The bot took the conversation back"; },
    request_thread_control: function (e) {
      return (e.requested_owner_app_id === PAGE_INBOX ? "The Page Inbox" : "The bot") +
        " asked for the conversation";
    }
  };

  function entryNode(entry) {
    var item = el("li", "entry " + entry.direction);
    item.dataset.mid = entry.mid || "";
    if (entry.direction === "handover") {  // the handover protocol: who is answering
      item.className = "entry system handover";
      item.textContent = (HANDOVER_TEXT[entry.action] || function () { return entry.action; })(entry);
      return item;
    }
    if (entry.from === "page_inbox") {
      item.className = "entry out human";
      item.appendChild(el("small", "sender-label", "A person from the Page"));
      item.appendChild(el("div", "bubble", entry.message.text));
      return item;
    }
    if (entry.direction === "in") {
      if (entry.kind === "referral") {
        item.className = "entry system";
        item.textContent = "Opened from an m.me link (ref " + entry.referral.ref + ")";
      } else if (entry.kind === "postback") {
        item.appendChild(el("div", "bubble postback", entry.postback.title || entry.postback.payload));
      } else {
        item.appendChild(el("div", "bubble", entry.text));
      }
    } else {
      item.appendChild(outgoingNode(entry.message));
    }
    return item;
  }

  function render(data) {
    person = data.person;
    var entries = data.entries;
    var messages = entries.filter(function (e) { return !e.sender_action; });
    var actions = entries.filter(function (e) { return e.sender_action; });
    thread.textContent = "";
    messages.forEach(function (entry) { thread.appendChild(entryNode(entry)); });
    var lastAction = actions.length ? actions[actions.length - 1] : null;
    var lastMessage = messages.length ? messages[messages.length - 1] : null;
    if (lastAction && (!lastMessage || lastAction.time >= lastMessage.time)) {
      if (lastAction.sender_action === "typing_on") {
        var typing = el("li", "entry out typing");
        typing.appendChild(el("div", "bubble", "•••"));
        thread.appendChild(typing);
      } else if (lastAction.sender_action === "mark_seen") {
        thread.appendChild(el("li", "entry seen", "Seen"));
      }
    }
    // Messenger shows quick replies only under the latest message, until the person answers,
    // and only in the mobile apps (contract §2.3); the desktop view says so instead.
    quickBox.textContent = "";
    if (lastMessage && lastMessage.direction === "out" && lastMessage.message.quick_replies) {
      quickBox.appendChild(el("span", "desktop-note",
        "Quick replies are not shown on desktop, as in Messenger. Switch to phone view."));
      lastMessage.message.quick_replies.forEach(function (reply) {
        var chip = el("button", "quick-reply", reply.title ||
          (reply.content_type === "user_email" ? person.email : "+15555550100"));
        chip.type = "button";
        chip.addEventListener("click", function () { sendQuickReply(reply); });
        quickBox.appendChild(chip);
      });
    }
    if (window.FakebookProfile) {  // static/chat_profile.js: greeting, Get Started, menu
      window.FakebookProfile.render(data.profile, entries.length === 0,
        { el: el, sendPostback: sendPostback, openUrl: openUrl });
    }
    document.getElementById("human-banner").hidden = data.thread_owner !== PAGE_INBOX;
    thread.scrollTop = thread.scrollHeight;
    document.getElementById("window-status").textContent = data.window_open ?
      "24-hour window open" : "Window closed: the bot cannot message you";
    var delivery = data.last_delivery;
    var status = document.getElementById("delivery-status");
    if (delivery) {
      status.textContent = "Last webhook: " + delivery.kind + " → " + delivery.status +
        (delivery.http_status ? " (HTTP " + delivery.http_status + ")" : "") +
        (delivery.error ? ", " + delivery.error : "") +
        (data.failed_deliveries ? " · " + data.failed_deliveries + " failed" : "");
      status.className = delivery.status === "failed" ? "failed" : "";
    }
  }

  function poll() {
    return api("").then(function (data) {
      var signature = JSON.stringify(
        [data.entries.length, data.last_delivery, data.profile, data.thread_owner]);
      if (signature !== lastSignature) { lastSignature = signature; render(data); }
    }).catch(function () {
      document.getElementById("delivery-status").textContent = "fakebook is not answering.";
    });
  }

  var ref = app.dataset.ref;
  var start = ref ? api("/referral", { ref: ref }).then(function () {
    var url = new URL(window.location.href);
    url.searchParams.delete("ref");
    history.replaceState(null, "", url.toString());
  }) : Promise.resolve();
  start.then(poll);
  setInterval(poll, 1000);
})();
