// Runs one scenario of messaging-api-messenger (npm) against fakebook and prints one JSON line:
// {"ok": true, "result": ...} or {"ok": false, "message": ..., "status": ..., "error": ...}.
// Driven by test_messaging_api_messenger.py: node messaging_api_messenger.js SCENARIO
// with FAKEBOOK_URL, PAGE_TOKEN, APP_SECRET and PSID in the environment.
'use strict';

const { MessengerClient } = require('messaging-api-messenger');

const env = process.env;
const psid = env.PSID;
// `origin` is the client's own switch for another Graph host; its default version (6.0) is
// long expired, and stays so on purpose: fakebook serves it at the oldest available one.
const client = new MessengerClient({
  accessToken: env.PAGE_TOKEN,
  appSecret: env.APP_SECRET,
  origin: env.FAKEBOOK_URL,
});

const menu = [
  { type: 'postback', title: 'My likes', payload: 'LIKES' },
  { type: 'web_url', title: 'Open site', url: 'https://bot.example.com', webviewHeightRatio: 'full' },
];

const scenarios = {
  text: () => client.sendText(psid, 'Hello from messaging-api-messenger'),
  button_template: () =>
    client.sendButtonTemplate(psid, 'Connect your account', [
      { type: 'web_url', url: 'https://bot.example.com/login', title: 'Log in', webviewHeightRatio: 'tall' },
      { type: 'postback', title: 'Later', payload: 'LATER' },
    ]),
  quick_replies: () =>
    client.sendText(psid, 'Pick one', {
      quickReplies: [
        { contentType: 'text', title: 'Red', payload: 'PICK_RED' },
        { contentType: 'user_email' },
      ],
    }),
  sender_actions: async () => [
    await client.markSeen(psid),
    await client.typingOn(psid),
    await client.typingOff(psid),
  ],
  messenger_profile: async () => {
    await client.setMessengerProfile({
      getStarted: { payload: 'GET_STARTED' },
      greeting: [{ locale: 'default', text: 'Hi {{user_first_name}}!' }],
    });
    await client.setPersistentMenu(menu);
    const stored = await client.getMessengerProfile(['get_started', 'greeting', 'persistent_menu']);
    await client.deletePersistentMenu();
    const left = await client.getMessengerProfile(['get_started', 'persistent_menu']);
    return { stored, left };
  },
  user_menu: async () => {
    await client.setGetStarted('GET_STARTED');
    await client.setUserPersistentMenu(psid, [{ type: 'postback', title: 'Only you', payload: 'MINE' }]);
    const mine = await client.getUserPersistentMenu(psid);
    await client.deleteUserPersistentMenu(psid);
    const after = await client.getUserPersistentMenu(psid);
    return { mine, after };
  },
  user_profile: () => client.getUserProfile(psid),
  user_profile_gated: () =>
    client.getUserProfile(psid, { fields: ['first_name', 'locale', 'timezone', 'gender'] }),
};

async function main() {
  const run = scenarios[process.argv[2]];
  if (!run) {
    throw new Error(`unknown scenario ${process.argv[2]}; known: ${Object.keys(scenarios)}`);
  }
  try {
    console.log(JSON.stringify({ ok: true, result: await run() }));
  } catch (err) {
    const response = err.response || {};
    const data = response.data || {};
    console.log(JSON.stringify({ ok: false, message: err.message, status: response.status, error: data.error }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
