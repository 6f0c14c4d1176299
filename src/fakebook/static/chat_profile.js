// fakebook chat simulator: the page's Messenger Profile as the person sees it (contract §4).
// chat.js calls FakebookProfile.render(profile, threadIsEmpty, tools) after each render:
// an empty thread shows the welcome (greeting, then ice breakers or else Get Started, since
// ice breakers override Get Started); the persistent menu sits behind a button in the composer.
// All page-supplied text goes in via textContent.
(function () {
  "use strict";
  var menuButton = null;
  var menuPanel = null;

  function ensureMenuNodes(tools) {
    if (menuButton) { return; }
    var composer = document.getElementById("composer");
    menuButton = tools.el("button", "menu-button", "☰");
    menuButton.type = "button";
    menuButton.id = "menu-button";
    menuButton.setAttribute("aria-label", "Menu");
    menuButton.setAttribute("aria-expanded", "false");
    menuButton.hidden = true;
    composer.insertBefore(menuButton, composer.firstChild);
    menuPanel = tools.el("ul", "persistent-menu");
    menuPanel.id = "persistent-menu";
    menuPanel.hidden = true;
    composer.parentNode.insertBefore(menuPanel, composer);
    menuButton.addEventListener("click", function () { toggleMenu(menuPanel.hidden); });
  }

  function toggleMenu(open) {
    menuPanel.hidden = !open;
    menuButton.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function welcomeNode(profile, tools) {
    var item = tools.el("li", "entry welcome");
    item.id = "welcome";
    var card = tools.el("div", "welcome-card");
    if (profile.greeting) {
      var greeting = tools.el("p", "greeting", profile.greeting);
      greeting.id = "greeting";
      card.appendChild(greeting);
    }
    if (profile.ice_breakers.length) {
      var list = tools.el("div", "ice-breakers");
      profile.ice_breakers.forEach(function (breaker) {
        var chip = tools.el("button", "ice-breaker", breaker.question);
        chip.type = "button";
        chip.addEventListener("click", function () {
          tools.sendPostback(breaker.question, breaker.payload);
        });
        list.appendChild(chip);
      });
      card.appendChild(list);
    } else if (profile.get_started) {
      var start = tools.el("button", "get-started", "Get Started");
      start.type = "button";
      start.id = "get-started";
      start.addEventListener("click", function () {
        tools.sendPostback("Get Started", profile.get_started.payload);
      });
      card.appendChild(start);
    }
    item.appendChild(card);
    return item;
  }

  function renderMenu(menu, tools) {
    ensureMenuNodes(tools);
    var input = document.getElementById("message-input");
    var send = document.getElementById("send-button");
    menuPanel.textContent = "";
    var items = menu ? menu.call_to_actions : [];
    menuButton.hidden = items.length === 0;
    if (items.length === 0) { toggleMenu(false); }
    items.forEach(function (action) {
      var entry = tools.el("li");
      var node = tools.el("button", "menu-item", action.title);
      node.type = "button";
      node.dataset.type = action.type;
      node.addEventListener("click", function () {
        toggleMenu(false);
        if (action.type === "postback") { tools.sendPostback(action.title, action.payload); }
        else { tools.openUrl(action.url, action); }
      });
      entry.appendChild(node);
      menuPanel.appendChild(entry);
    });
    var typingOff = Boolean(menu && menu.composer_input_disabled);
    input.disabled = typingOff;
    send.disabled = typingOff;
    input.placeholder = typingOff ? "The page turned typing off: use the menu" : "Aa";
  }

  window.FakebookProfile = {
    render: function (profile, threadIsEmpty, tools) {
      if (!profile) { return; }
      var thread = document.getElementById("thread");
      var hasWelcome = profile.greeting || profile.get_started || profile.ice_breakers.length;
      if (threadIsEmpty && hasWelcome) { thread.appendChild(welcomeNode(profile, tools)); }
      renderMenu(profile.persistent_menu, tools);
    }
  };
})();
