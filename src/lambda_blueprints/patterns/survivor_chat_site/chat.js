// The survivor chat page: plain JavaScript, no build step. It reads config.json (written
// at deploy time next to this file), signs in with the Cognito user pool (or takes a name
// when the chat is anonymous), then polls the messages and typing APIs.

const CHANNEL = "general";
const POLL_MS = 2000;
const TYPING_EVERY_MS = 2000;

const $ = (selector) => document.querySelector(selector);
const state = { config: null, token: null, name: null, lastTyping: 0, shown: new Set() };

async function start() {
  state.config = await (await fetch("config.json", { cache: "no-store" })).json();
  $("#sign-out").addEventListener("click", signOut);
  if (state.config.auth === "anonymous") {
    state.name = sessionStorage.getItem("chat.name");
    if (state.name) return openChat();
    $("#pick-name").hidden = false;
    $("#pick-name").addEventListener("submit", (event) => {
      event.preventDefault();
      state.name = new FormData(event.target).get("name").trim();
      sessionStorage.setItem("chat.name", state.name);
      $("#pick-name").hidden = true;
      openChat();
    });
    return;
  }
  state.token = sessionStorage.getItem("chat.token");
  if (state.token && !expired(state.token)) return openChat();
  $("#sign-in").hidden = false;
  $("#sign-in").addEventListener("submit", signIn);
}

// -- signing in: Cognito's InitiateAuth (USER_PASSWORD_AUTH), over HTTPS ------------------

function cognitoEndpoint() {
  const config = state.config;
  return config.cognitoEndpoint || `https://cognito-idp.${config.region}.amazonaws.com/`;
}

async function cognito(action, body) {
  const response = await fetch(cognitoEndpoint(), {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message || answer.__type || "sign-in failed");
  return answer;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = $("#sign-in .error");
  error.textContent = "";
  try {
    let answer = await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: state.config.clientId,
      AuthParameters: { USERNAME: form.get("username"), PASSWORD: form.get("password") },
    });
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      const newPassword = form.get("newPassword");
      if (!newPassword) {
        $("#new-password-label").hidden = false;
        error.textContent = "Choose a new password to finish signing in.";
        return;
      }
      answer = await cognito("RespondToAuthChallenge", {
        ChallengeName: "NEW_PASSWORD_REQUIRED",
        ClientId: state.config.clientId,
        Session: answer.Session,
        ChallengeResponses: { USERNAME: form.get("username"), NEW_PASSWORD: newPassword },
      });
    }
    if (!answer.AuthenticationResult) throw new Error(`unsupported step ${answer.ChallengeName}`);
    state.token = answer.AuthenticationResult.IdToken;
    sessionStorage.setItem("chat.token", state.token);
    $("#sign-in").hidden = true;
    openChat();
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part));
}

function expired(token) {
  try {
    return claims(token).exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

function signOut() {
  sessionStorage.clear();
  location.reload();
}

// -- the chat ------------------------------------------------------------------------

function headers() {
  const found = { "Content-Type": "application/json" };
  if (state.token) found.Authorization = state.token;
  if (state.name) found["X-Chat-Name"] = state.name;
  return found;
}

async function api(method, path, body) {
  const response = await fetch(`${state.config.apiPath}${path}`, {
    method,
    headers: headers(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut();
    throw new Error("signed out");
  }
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const wait = response.headers.get("Retry-After");
    const message = answer && answer.message ? answer.message : `HTTP ${response.status}`;
    throw new Error(wait ? `${message} (try again in ${wait} s)` : message);
  }
  return answer;
}

function openChat() {
  $("#chat").hidden = false;
  $("#sign-out").hidden = false;
  const who = state.token ? claims(state.token)["cognito:username"] : state.name;
  $("#who").textContent = `Signed in as ${who}`;
  $("#who").hidden = false;
  $("#compose").addEventListener("submit", send);
  $("#text").addEventListener("input", typing);
  refresh();
  setInterval(refresh, POLL_MS);
}

async function refresh() {
  try {
    const [page, typing] = await Promise.all([
      api("GET", `/messages?channel=${CHANNEL}&limit=50`),
      api("GET", `/typing?channel=${CHANNEL}`),
    ]);
    show(page.messages);
    const names = typing.typing.map((entry) => entry.author);
    $("#typing").textContent = names.length ? `${names.join(", ")} typing…` : "";
  } catch (failure) {
    $("#compose .error").textContent = failure.message;
  }
}

function show(messages) {
  const list = $("#messages");
  // The API answers newest first; the page lists oldest first.
  for (const message of [...messages].reverse()) {
    if (state.shown.has(message.id)) continue;
    state.shown.add(message.id);
    const item = document.createElement("li");
    item.className = message.source;
    item.dataset.id = message.id;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${message.author} · ${new Date(message.sentAt).toLocaleTimeString()}`;
    const text = document.createElement("p");
    text.textContent = message.text;
    item.append(meta, text);
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
}

async function send(event) {
  event.preventDefault();
  const box = $("#text");
  const text = box.value.trim();
  if (!text) return;
  const error = $("#compose .error");
  error.textContent = "";
  // One id per message: a retry after a lost answer is stored once.
  const clientMessageId = crypto.randomUUID();
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const message = await api("POST", "/messages", { channel: CHANNEL, text, clientMessageId });
      box.value = "";
      show([message]);
      return;
    } catch (failure) {
      if (!(failure instanceof TypeError)) {
        error.textContent = failure.message;
        return;
      }
    }
  }
  error.textContent = "The message could not be sent; check the connection.";
}

function typing() {
  const now = Date.now();
  if (now - state.lastTyping < TYPING_EVERY_MS) return;
  state.lastTyping = now;
  api("PUT", "/typing", { channel: CHANNEL }).catch(() => {});
}

start();
