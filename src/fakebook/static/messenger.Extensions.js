// fakebook's stand-in for Messenger's Extensions SDK (messenger.Extensions.js).
// Inside the chat simulator's phone-view webview (an iframe) it talks to the simulator with
// postMessage: a "mx-hello" handshake first, then close/context requests. Anywhere else (a
// top-level desktop tab) every call fails through its error callback, as the real SDK does
// outside the Messenger apps. Like the real SDK it calls window.extAsyncInit() once loaded.
(function () {
  "use strict";
  if (window.MessengerExtensions) { return; }
  var NOT_IN_MESSENGER = 2071011;  // fakebook's code for "not inside a Messenger webview"
  var HANDSHAKE_MS = 800;
  var pending = {};
  var counter = 0;

  function ask(message, timeoutMs) {
    return new Promise(function (resolve, reject) {
      if (window.parent === window) { reject(new Error("not in a webview")); return; }
      counter += 1;
      var id = "mx" + counter + "-" + Date.now();
      message.id = id;
      var timer = setTimeout(function () {
        delete pending[id];
        reject(new Error("no answer from Messenger"));
      }, timeoutMs);
      pending[id] = function (answer) { clearTimeout(timer); delete pending[id]; resolve(answer); };
      window.parent.postMessage(message, "*");
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.source !== window.parent || !data.id || !pending[data.id]) { return; }
    pending[data.id](data);
  });

  var bridge = ask({ fakebook: "mx-hello" }, HANDSHAKE_MS).then(function (answer) {
    return answer.fakebook === "mx-ready" ? answer : Promise.reject(new Error("bad handshake"));
  });
  bridge.catch(function () { /* handled per call */ });

  function fail(error) {
    return function () {
      if (typeof error === "function") { error(NOT_IN_MESSENGER); }
    };
  }

  window.MessengerExtensions = {
    getSupportedFeatures: function (success, error) {
      bridge.then(function () {
        success({ supported_features: ["context", "sharing_broadcast", "sharing_direct"] });
      }, fail(error));
    },
    requestCloseBrowser: function (success, error) {
      bridge.then(function () {
        return ask({ fakebook: "mx-close" }, 2000);
      }).then(function () { if (typeof success === "function") { success(); } }, fail(error));
    },
    getContext: function (appId, success, error) {
      bridge.then(function () {
        return ask({ fakebook: "mx-context", app_id: String(appId) }, 5000);
      }).then(function (answer) {
        if (answer.ok) { success(answer.result); }
        else if (typeof error === "function") { error(answer.result.code || NOT_IN_MESSENGER); }
      }, fail(error));
    }
  };

  // The real SDK calls extAsyncInit asynchronously after it has loaded.
  setTimeout(function () {
    if (typeof window.extAsyncInit === "function") { window.extAsyncInit(); }
  }, 0);
})();
