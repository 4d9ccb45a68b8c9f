// @ts-check
// The dashboard's script, part 5 of 5: polling ./status?series=1 every second, the token (asked
// for when the admin server wants one, kept in this tab's session storage, sent as a bearer
// header), and the start.

const TOKEN_KEY = 'fairway.adminToken';
const POLL_MS = 1000;
let polling = false;
/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;
let lastOkAt = 0;

// ── polling and the token ───────────────────────────────────────────────────────────────────

/**
 * @param {string} text
 * @param {boolean} ok
 */
function setLive(text, ok) {
  $('live-text').textContent = text;
  $('live-dot').className = `dot ${ok ? 'ok' : 'bad'}`;
}

/** @param {string | null} message */
function askForToken(message) {
  polling = false;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = message === null;
  err.textContent = message ?? '';
  $('signout').hidden = true;
  setLive('waiting for the token', false);
  /** @type {HTMLInputElement} */ ($('token')).focus();
}

async function poll() {
  timer = null;
  if (!polling) return;
  const started = Date.now();
  const token = sessionStorage.getItem(TOKEN_KEY);
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  try {
    const res = await fetch('status?series=1', { headers, cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (res.status === 401) {
      const had = token !== null;
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(had ? 'The token was refused.' : null);
      return;
    }
    if (!res.ok) throw new Error(`/status answered ${res.status}`);
    const doc = /** @type {ProcessDoc} */ (await res.json());
    $('banner').hidden = true;
    $('signout').hidden = token === null;
    lastOkAt = Date.now();
    draw(doc);
    setLive(`live · ${new Date().toLocaleTimeString([], { hour12: false })}`, true);
  } catch (err) {
    const since = lastOkAt === 0 ? '' : ` since ${new Date(lastOkAt).toLocaleTimeString([], { hour12: false })}`;
    setLive(`no answer${since}`, false);
    const banner = $('banner');
    banner.hidden = false;
    banner.textContent = `Cannot read /status${since}: ${err instanceof Error ? err.message : String(err)}. Retrying every second; the figures below are the last ones received.`;
  }
  if (polling) timer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
}

function startPolling() {
  polling = true;
  $('login').hidden = true;
  if (timer !== null) clearTimeout(timer);
  void poll();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('token'));
  const value = input.value.trim();
  if (value === '') return;
  sessionStorage.setItem(TOKEN_KEY, value);
  input.value = '';
  startPolling();
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  seriesHistory.clear();
  $('pools').replaceChildren();
  $('events-card').hidden = true;
  $('workers').hidden = true;
  askForToken(null);
});

startPolling();
