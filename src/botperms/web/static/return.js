// Sends the person back to the conversation after login.
// Messenger's in-app browser (or a framed webview on messenger.com): close it through Messenger
// Extensions. A desktop tab: close the tab. Whatever refuses, show the link back to Messenger.
(function () {
  "use strict";
  var box = document.getElementById("return");
  if (!box) { return; }
  var client = box.dataset.client;
  var back = box.dataset.back;
  var fallbackShown = false;

  function showFallback() {
    if (fallbackShown) { return; }
    fallbackShown = true;
    document.getElementById("closing").hidden = true;
    document.getElementById("fallback").hidden = false;
  }

  function tryCloseTab() {
    window.close();
    // A tab the script did not open usually refuses to close; if we are still here, say so.
    setTimeout(showFallback, 400);
  }

  function afterExtensionsFailed() {
    if (client === "messenger_app") {
      window.location.replace(back);
    } else {
      tryCloseTab();
    }
  }

  function tryExtensions() {
    var settled = false;
    var timer = setTimeout(function () { if (!settled) { settled = true; afterExtensionsFailed(); } }, 2500);
    window.extAsyncInit = function () {
      if (!window.MessengerExtensions) { return; }
      window.MessengerExtensions.requestCloseBrowser(function () {
        settled = true; clearTimeout(timer);
      }, function () {
        if (!settled) { settled = true; clearTimeout(timer); afterExtensionsFailed(); }
      });
    };
    var script = document.createElement("script");
    script.src = box.dataset.sdk;
    script.onerror = function () {
      if (!settled) { settled = true; clearTimeout(timer); afterExtensionsFailed(); }
    };
    document.head.appendChild(script);
  }

  var framed = window.self !== window.top;
  if (client === "messenger_app" || framed) {
    tryExtensions();
  } else {
    tryCloseTab();
  }
})();
