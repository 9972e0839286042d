/*
 * secobot — chat widget for the SECOP II support assistant.
 * Plain ES2020, no dependencies, no inline code (works under `script-src 'self'`).
 * Speaks the user WebSocket protocol described in PROTOCOL.md (`GET /ws`).
 */
(function () {
  'use strict';

  const root = document.querySelector('[data-ws-path]');
  if (!root) return;

  const byId = (id) => document.getElementById(id);
  const ui = {
    log: byId('chat-log'),
    form: byId('chat-form'),
    input: byId('chat-input'),
    send: byId('chat-send'),
    escalate: byId('chat-escalate'),
    status: byId('chat-status'),
    retry: byId('chat-retry'),
    alert: byId('chat-alert'),
    empty: byId('chat-empty'),
    info: byId('chat-info'),
    ticket: byId('chat-ticket'),
    agent: byId('chat-agent'),
  };
  if (!ui.log || !ui.form || !ui.input || !ui.send) return;

  // ---------------------------------------------------------------- storage

  const KEY_SESSION = 'secobot.session';
  const KEY_LAST_SEQ = 'secobot.last_seq';
  const KEY_FEEDBACK = 'secobot.feedback';

  const store = {
    get(key) {
      try { return window.localStorage.getItem(key); } catch (_) { return null; }
    },
    set(key, value) {
      try { window.localStorage.setItem(key, String(value)); } catch (_) { /* private mode */ }
    },
    remove(key) {
      try { window.localStorage.removeItem(key); } catch (_) { /* private mode */ }
    },
  };

  // ------------------------------------------------------------------ state

  const RETRY_MAX_MS = 30000;
  const WELCOME_TIMEOUT_MS = 15000;
  const ALERT_MS = 7000;

  const state = {
    ws: null,
    ready: false, // a welcome arrived on the current socket
    stopped: false, // page is being hidden/unloaded: do not reconnect
    session: store.get(KEY_SESSION) || null,
    askedSession: null, // the session sent in the current hello
    helloRetried: false,
    rendered: new Set(), // seqs already in the DOM
    maxSeq: 0, // highest rendered seq (0 on a fresh page load: the DOM is empty)
    storedLastSeq: Number(store.get(KEY_LAST_SEQ)) || 0, // informative only
    attempt: 0,
    retryTimer: 0,
    tickTimer: 0,
    welcomeTimer: 0,
    retryAt: 0,
    alertTimer: 0,
    lastAction: 'input', // 'input' | 'button': what the user used last
    // This tab's own messages, shown at once; the server echoes them only to
    // the session's other tabs. Each gets its seq from the bot reply that follows.
    pending: [],
  };

  const coarsePointer = window.matchMedia ? window.matchMedia('(pointer: coarse)') : null;

  // ------------------------------------------------------------- utilities

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  /** A server-provided token that is safe as part of a class name. */
  function token(value, fallback) {
    return typeof value === 'string' && /^[a-z][a-z0-9_-]{0,31}$/.test(value) ? value : fallback;
  }

  function str(value) {
    return value == null ? '' : String(value);
  }

  /** Returns the URL as given when it is http(s) or relative to this page; null otherwise. */
  function safeUrl(value) {
    if (typeof value !== 'string' || !value.trim()) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? value : null;
    } catch (_) {
      return null;
    }
  }

  const STATUS_LABELS = {
    abierto: 'abierto',
    en_atencion: 'en atención',
    en_espera: 'en espera',
    pendiente: 'pendiente',
    resuelto: 'resuelto',
    cerrado: 'cerrado',
    escalado: 'escalado',
  };

  function humanStatus(status) {
    const s = str(status);
    return STATUS_LABELS[s] || s.replace(/_/g, ' ');
  }

  function formatDate(value) {
    const s = str(value);
    const d = new Date(s);
    if (!s || Number.isNaN(d.getTime())) return s;
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
    try {
      return dateOnly
        ? d.toLocaleDateString('es-CO', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' })
        : d.toLocaleString('es-CO', { day: 'numeric', month: 'long', year: 'numeric', hour: 'numeric', minute: '2-digit' });
    } catch (_) {
      return s;
    }
  }

  function formatTime(value) {
    const d = new Date(str(value));
    if (!value || Number.isNaN(d.getTime())) return '';
    try {
      return d.toLocaleTimeString('es-CO', { hour: 'numeric', minute: '2-digit' });
    } catch (_) {
      return '';
    }
  }

  function pageHasFocus() {
    return !document.hidden && (typeof document.hasFocus !== 'function' || document.hasFocus());
  }

  function focusInput(force) {
    if (!pageHasFocus()) return;
    // On touch screens focusing the box opens the keyboard: only do it when typing is expected.
    if (!force && coarsePointer && coarsePointer.matches) return;
    if (ui.input.disabled) return;
    try { ui.input.focus({ preventScroll: true }); } catch (_) { ui.input.focus(); }
  }

  function focusNode(node) {
    if (!node || !pageHasFocus()) return;
    try { node.focus({ preventScroll: true }); } catch (_) { node.focus(); }
  }

  // ------------------------------------------------------------ status bar

  function setStatus(stateName, text) {
    if (!ui.status) return;
    ui.status.dataset.state = stateName;
    if (ui.status.textContent !== text) ui.status.textContent = text;
    if (ui.retry) ui.retry.hidden = stateName !== 'offline';
  }

  function updateControls() {
    const off = !state.ready;
    ui.send.disabled = off;
    if (ui.escalate) ui.escalate.disabled = off;
    ui.form.setAttribute('aria-busy', off ? 'true' : 'false');
  }

  function refreshInfo() {
    if (!ui.info) return;
    const anything = (ui.ticket && !ui.ticket.hidden) || (ui.agent && !ui.agent.hidden);
    ui.info.hidden = !anything;
  }

  function showTicket(id, status) {
    if (!ui.ticket || !id) return;
    ui.ticket.textContent = 'Su caso ' + str(id) + ': ' + humanStatus(status);
    ui.ticket.dataset.status = token(status, '');
    ui.ticket.hidden = false;
    refreshInfo();
  }

  function showAgent(event, name) {
    if (!ui.agent) return;
    const who = str(name) || 'Un asesor';
    if (event === 'joined') {
      ui.agent.textContent = who + ' se unió a la conversación.';
    } else if (event === 'left') {
      ui.agent.textContent = who + ' salió de la conversación. El asistente virtual continúa.';
    } else {
      return;
    }
    ui.agent.dataset.event = event;
    ui.agent.hidden = false;
    refreshInfo();
  }

  function clearInfo() {
    if (ui.ticket) { ui.ticket.textContent = ''; ui.ticket.hidden = true; }
    if (ui.agent) { ui.agent.textContent = ''; ui.agent.hidden = true; }
    refreshInfo();
  }

  function showAlert(message) {
    if (!ui.alert) return;
    window.clearTimeout(state.alertTimer);
    const text = str(message) || 'Ocurrió un error. Intente de nuevo.';
    // Empty first so that the same message repeated is announced again.
    ui.alert.textContent = '';
    window.setTimeout(() => {
      ui.alert.textContent = text;
    }, 50);
    state.alertTimer = window.setTimeout(() => {
      ui.alert.textContent = '';
    }, ALERT_MS);
  }

  function offlineAlert() {
    showAlert('Sin conexión. Espere a que se restablezca para continuar.');
  }

  function updateEmpty() {
    if (ui.empty) ui.empty.hidden = ui.log.childElementCount > 0;
  }

  // ----------------------------------------------------------- input mode

  const INPUT_MODES = {
    email: { type: 'email', inputmode: 'email', placeholder: 'nombre@dominio.com', autocomplete: 'email' },
    phone: { type: 'tel', inputmode: 'tel', placeholder: 'Ej.: 300 123 4567', autocomplete: 'tel' },
    document: { type: 'text', inputmode: 'numeric', placeholder: 'Número de documento', autocomplete: 'off' },
    text: { type: 'text', inputmode: null, placeholder: 'Escriba su respuesta…', autocomplete: 'off' },
    default: { type: 'text', inputmode: null, placeholder: 'Escriba su pregunta…', autocomplete: 'off' },
  };

  function setInputMode(mode, describedBy) {
    const key = mode && Object.prototype.hasOwnProperty.call(INPUT_MODES, mode) ? mode : 'default';
    const conf = INPUT_MODES[key];
    const input = ui.input;
    if (input.type !== conf.type) {
      const value = input.value;
      input.type = conf.type;
      input.value = value;
    }
    if (conf.inputmode) input.setAttribute('inputmode', conf.inputmode);
    else input.removeAttribute('inputmode');
    input.placeholder = conf.placeholder;
    input.setAttribute('autocomplete', conf.autocomplete);
    input.dataset.mode = key === 'default' ? 'text' : key;
    if (describedBy) input.setAttribute('aria-describedby', describedBy);
    else input.removeAttribute('aria-describedby');
  }

  // -------------------------------------------------------------- feedback

  function feedbackGiven() {
    try {
      const data = JSON.parse(store.get(KEY_FEEDBACK) || 'null');
      if (data && data.session === state.session && Array.isArray(data.seqs)) return data.seqs;
    } catch (_) { /* ignore */ }
    return [];
  }

  function rememberFeedback(seq) {
    const seqs = feedbackGiven().filter((s) => s !== seq);
    seqs.push(seq);
    store.set(KEY_FEEDBACK, JSON.stringify({ session: state.session, seqs: seqs.slice(-200) }));
  }

  function feedbackThanks() {
    const p = el('p', 'feedback-thanks', 'Gracias por su opinión.');
    p.tabIndex = -1;
    return p;
  }

  function renderFeedback(seq) {
    const box = el('div', 'feedback');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', '¿Le sirvió esta respuesta?');
    if (feedbackGiven().includes(seq)) {
      box.appendChild(feedbackThanks());
      return box;
    }
    const make = (label, aria, useful) => {
      const b = el('button', 'feedback-btn', label);
      b.type = 'button';
      b.setAttribute('aria-label', aria);
      b.dataset.useful = useful ? 'true' : 'false';
      b.addEventListener('click', () => {
        if (!state.ready) { offlineAlert(); return; }
        if (!send({ type: 'feedback', seq, useful })) { offlineAlert(); return; }
        rememberFeedback(seq);
        const thanks = feedbackThanks();
        box.replaceChildren(thanks);
        focusNode(thanks);
      });
      return b;
    };
    box.append(
      make('👍 Útil', 'La respuesta me sirvió', true),
      make('👎 No me sirvió', 'La respuesta no me sirvió', false),
    );
    return box;
  }

  // ------------------------------------------------------------- rendering

  function disableButtons(scope) {
    scope.querySelectorAll('.reply-buttons button').forEach((b) => {
      b.disabled = true;
    });
  }

  function renderButtons(buttons) {
    const group = el('div', 'reply-buttons');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Opciones de respuesta');
    buttons.forEach((item) => {
      if (!item || typeof item !== 'object') return;
      const label = str(item.label) || str(item.value);
      if (!label) return;
      const value = item.value == null ? label : String(item.value);
      const b = el('button', 'reply-btn', label);
      b.type = 'button';
      b.addEventListener('click', () => {
        if (b.disabled) return;
        if (!state.ready) { offlineAlert(); return; }
        if (!send({ type: 'choose', value })) { offlineAlert(); return; }
        renderOwn(label);
        state.lastAction = 'button';
        b.classList.add('is-chosen');
        b.setAttribute('aria-pressed', 'true');
        disableButtons(group.parentNode || group);
      });
      group.appendChild(b);
    });
    return group.childElementCount ? group : null;
  }

  function renderSources(sources) {
    const p = el('p', 'msg-sources');
    p.appendChild(el('span', 'msg-sources-label', 'Fuente:'));
    let count = 0;
    sources.forEach((src) => {
      if (!src || typeof src !== 'object') return;
      const title = str(src.title) || str(src.id) || 'Ver fuente';
      const href = safeUrl(src.url);
      p.appendChild(document.createTextNode(count ? ' · ' : ' '));
      if (href) {
        const a = el('a', 'source', title);
        a.setAttribute('href', href);
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener');
        if (src.id != null) a.dataset.id = String(src.id);
        p.appendChild(a);
      } else {
        p.appendChild(el('span', 'source-title', title));
      }
      count += 1;
    });
    return count ? p : null;
  }

  function authorLabel(from, reply) {
    if (from === 'bot') return 'Asistente';
    if (from === 'agent') {
      const name = str(reply.agent_name).trim();
      if (!name) return 'Asesor';
      return name.includes('(') ? name : name + ' · Asesor';
    }
    return '';
  }

  function isNearBottom() {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToBottom(smooth) {
    const reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    const top = ui.log.scrollHeight;
    if (smooth && !reduce && typeof ui.log.scrollTo === 'function') {
      ui.log.scrollTo({ top, behavior: 'smooth' });
    } else {
      ui.log.scrollTop = top;
    }
  }

  /**
   * Renders one `reply` object. `live` is false for `welcome.history`.
   * Returns the message element, or null when skipped (bad or already rendered).
   */
  function renderReply(reply, live) {
    if (!reply || typeof reply !== 'object') return null;
    const seq = Number(reply.seq);
    if (!Number.isSafeInteger(seq) || seq < 0) return null;
    if (state.rendered.has(seq)) return null;

    const from = token(reply.from, 'bot');
    // The bot answers right after the user's message; agents and notices may not.
    if (live && from === 'bot') settleOwn(seq);
    if (from === 'user' && adoptOwn(reply, seq)) return null;
    const kind = token(reply.kind, 'notice');
    const stick = !live || from === 'user' || isNearBottom();

    const msg = el('div', 'msg msg-' + from + ' kind-' + kind);
    msg.dataset.seq = String(seq);

    // Author line.
    const label = authorLabel(from, reply);
    if (label) {
      const meta = el('div', 'msg-meta');
      meta.appendChild(el('span', 'msg-author', label));
      const time = formatTime(reply.ts);
      if (time) {
        const t = el('time', 'msg-time', time);
        t.setAttribute('datetime', str(reply.ts));
        meta.append(' ', t);
      }
      msg.appendChild(meta);
    } else if (from === 'user') {
      msg.appendChild(el('span', 'visually-hidden', 'Usted:'));
    }

    // Body: server-sanitised HTML, or plain text (never parsed as HTML).
    const body = el('div', 'msg-body');
    body.id = 'msg-' + seq + '-body';
    if (from !== 'user' && typeof reply.html === 'string' && reply.html.trim()) {
      body.innerHTML = reply.html;
      body.classList.add('is-html');
      body.querySelectorAll('a[href]').forEach((a) => {
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener');
      });
    } else {
      body.textContent = str(reply.text);
    }
    msg.appendChild(body);

    // Ticket line.
    const ticket = reply.ticket && typeof reply.ticket === 'object' ? reply.ticket : null;
    if (ticket && ticket.id != null) {
      let line = 'Caso ' + str(ticket.id) + ' — estado: ' + humanStatus(ticket.status);
      if (ticket.due) line += ' · fecha límite: ' + formatDate(ticket.due);
      msg.appendChild(el('p', 'msg-ticket', line));
      showTicket(ticket.id, ticket.status);
    }

    // Sources.
    if (Array.isArray(reply.sources) && reply.sources.length) {
      const sources = renderSources(reply.sources);
      if (sources) msg.appendChild(sources);
    }

    // Buttons (suggestions, flow choices…).
    let group = null;
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      group = renderButtons(reply.buttons);
    }

    // A newer message from the other side makes older choices stale.
    if (from !== 'user') disableButtons(ui.log);
    if (group) msg.appendChild(group);

    // Feedback on knowledge answers.
    if (from === 'bot' && kind === 'answer') msg.appendChild(renderFeedback(seq));

    state.rendered.add(seq);
    if (seq > state.maxSeq) {
      state.maxSeq = seq;
      store.set(KEY_LAST_SEQ, seq);
    }
    ui.log.appendChild(msg);
    updateEmpty();
    if (stick) scrollToBottom(live);

    // Adapt the text box to what the latest message expects.
    if (from !== 'user') {
      const flow = reply.flow && typeof reply.flow === 'object' ? reply.flow : null;
      const expects = flow && typeof flow.input === 'string' && flow.input ? flow.input : null;
      setInputMode(expects, expects ? body.id : null);
      if (live) {
        const firstButton = group && group.querySelector('button:not([disabled])');
        if (expects) {
          focusInput(true);
        } else if (firstButton && state.lastAction === 'button') {
          focusNode(firstButton);
        } else if (state.lastAction === 'button' || document.activeElement === document.body) {
          focusInput(false);
        }
      }
    }
    return msg;
  }

  /** Error codes that mean the message this tab just sent was not taken. */
  const REFUSED_MESSAGE = new Set([
    'empty_text', 'text_too_long', 'rate_limited', 'frame_too_large',
    'unknown_choice', 'internal', 'invalid_frame',
  ]);

  /** Shows a message this tab just sent; its seq arrives with the bot's reply. */
  function renderOwn(text) {
    const msg = el('div', 'msg msg-user kind-echo is-pending');
    msg.appendChild(el('span', 'visually-hidden', 'Usted:'));
    msg.appendChild(el('div', 'msg-body', text));
    ui.log.appendChild(msg);
    state.pending.push(msg);
    updateEmpty();
    scrollToBottom(true);
  }

  /** The server answered this tab's oldest pending message: it had the seq before. */
  function settleOwn(replySeq) {
    const msg = state.pending.shift();
    if (!msg) return;
    const seq = replySeq - 1;
    msg.classList.remove('is-pending');
    if (seq > 0 && !state.rendered.has(seq)) {
      msg.dataset.seq = String(seq);
      state.rendered.add(seq);
    }
  }

  /** A replayed message of this tab that is still on screen unsettled. */
  function adoptOwn(reply, seq) {
    const i = state.pending.findIndex((m) => {
      const body = m.querySelector('.msg-body');
      return body && body.textContent === str(reply.text);
    });
    if (i < 0) return false;
    const msg = state.pending.splice(i, 1)[0];
    msg.classList.remove('is-pending');
    msg.dataset.seq = String(seq);
    state.rendered.add(seq);
    if (seq > state.maxSeq) {
      state.maxSeq = seq;
      store.set(KEY_LAST_SEQ, seq);
    }
    return true;
  }

  /** The server refused this tab's last message: say so on it. */
  function failOwn() {
    const msg = state.pending.pop();
    if (!msg) return;
    msg.classList.remove('is-pending');
    msg.classList.add('is-failed');
    msg.appendChild(el('p', 'msg-failed-note', 'No se envió.'));
  }

  /** A local notice (no seq: it is not part of the server's conversation). */
  function addLocalNotice(text) {
    const p = el('p', 'local-notice', text);
    ui.log.appendChild(p);
    updateEmpty();
  }

  function resetConversation() {
    ui.log.replaceChildren();
    state.rendered.clear();
    state.maxSeq = 0;
    store.set(KEY_LAST_SEQ, 0);
    clearInfo();
    setInputMode(null, null);
    updateEmpty();
  }

  // ------------------------------------------------------------ the socket

  function wsUrl() {
    const path = root.dataset.wsPath || '/ws';
    if (/^wss?:\/\//i.test(path)) return path;
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return proto + '//' + window.location.host + (path.charAt(0) === '/' ? path : '/' + path);
  }

  function send(frame) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (_) {
      return false;
    }
  }

  function sendHello(session) {
    state.askedSession = session;
    // On the first connect of a page load maxSeq is 0 (the DOM is empty), so the
    // whole history is replayed; on reconnects only what this page has not shown.
    send({ type: 'hello', session: session || null, last_seq: state.maxSeq });
  }

  function clearRetry() {
    window.clearTimeout(state.retryTimer);
    window.clearInterval(state.tickTimer);
    state.retryTimer = 0;
    state.tickTimer = 0;
  }

  function tick() {
    const secs = Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000));
    setStatus('offline', 'Sin conexión. Reintentando en ' + secs + ' s…');
  }

  function scheduleReconnect() {
    if (state.stopped) return;
    clearRetry();
    const base = Math.min(RETRY_MAX_MS, 1000 * Math.pow(2, state.attempt));
    state.attempt = Math.min(state.attempt + 1, 16);
    const jitter = 0.8 + Math.random() * 0.4; // ±20 %
    const delay = Math.max(500, Math.min(RETRY_MAX_MS, Math.round(base * jitter)));
    state.retryAt = Date.now() + delay;
    tick();
    state.tickTimer = window.setInterval(tick, 1000);
    state.retryTimer = window.setTimeout(connect, delay);
  }

  function connect() {
    clearRetry();
    if (state.stopped) return;
    if (state.ws && (state.ws.readyState === WebSocket.CONNECTING || state.ws.readyState === WebSocket.OPEN)) return;
    state.ready = false;
    updateControls();
    setStatus('connecting', 'Conectando…');

    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.helloRetried = false;

    ws.addEventListener('open', () => {
      if (state.ws !== ws) return;
      // Reconnects keep talking about the conversation this page shows.
      sendHello(state.session || store.get(KEY_SESSION) || null);
      window.clearTimeout(state.welcomeTimer);
      state.welcomeTimer = window.setTimeout(() => {
        if (state.ws === ws && !state.ready) ws.close(4000, 'no welcome');
      }, WELCOME_TIMEOUT_MS);
    });

    ws.addEventListener('message', (event) => {
      if (state.ws !== ws || typeof event.data !== 'string') return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame && typeof frame === 'object') handleFrame(frame);
    });

    // `error` is always followed by `close`; reconnecting happens there.
    ws.addEventListener('close', () => {
      if (state.ws !== ws) return;
      window.clearTimeout(state.welcomeTimer);
      state.ws = null;
      state.ready = false;
      updateControls();
      scheduleReconnect();
    });
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        onWelcome(frame);
        break;
      case 'reply':
        // The reply's fields are on the frame itself; accept a nested `reply` too.
        renderReply(frame.reply && typeof frame.reply === 'object' ? frame.reply : frame, true);
        break;
      case 'ticket':
        showTicket(frame.id, frame.status);
        typing.onTicket(frame.status);
        break;
      case 'agent':
        showAgent(frame.event, frame.name);
        typing.onAgent(frame.event);
        break;
      case 'typing':
        typing.onFrame(frame);
        break;
      case 'error':
        if (!state.ready && frame.code === 'unknown_session' && !state.helloRetried) {
          // The server refused our stored session: start a new conversation.
          state.helloRetried = true;
          const asked = state.askedSession;
          state.session = null;
          store.remove(KEY_SESSION);
          sendHello(null);
          state.askedSession = asked; // still show "new conversation" on welcome
          break;
        }
        if (!state.ready && frame.code === 'not_ready') break;
        if (REFUSED_MESSAGE.has(frame.code)) failOwn();
        showAlert(frame.message);
        break;
      default:
        break; // unknown frames are ignored (fields and types may be added)
    }
  }

  function onWelcome(frame) {
    window.clearTimeout(state.welcomeTimer);
    const asked = state.askedSession;
    const session = typeof frame.session === 'string' && frame.session ? frame.session : null;
    const history = Array.isArray(frame.history) ? frame.history : [];
    const fresh = !!asked && (frame.resumed === false || (session !== null && session !== asked));

    if (fresh && (state.rendered.size || ui.log.childElementCount)) resetConversation();
    if (session) {
      state.session = session;
      store.set(KEY_SESSION, session);
    }
    if (fresh && !history.some((r) => r && r.kind === 'notice')) {
      addLocalNotice('Comenzamos una conversación nueva.');
    }

    history
      .slice()
      .sort((a, b) => Number(a && a.seq) - Number(b && b.seq))
      .forEach((reply) => renderReply(reply, false));

    state.ready = true;
    state.attempt = 0;
    setStatus('online', 'Conectado');
    updateControls();
    if (history.length) scrollToBottom(false);
  }

  // ---------------------------------------------------------------- typing
  // While an agent holds the chat: tell them when the user types (at most once
  // a second; "off" after a pause, on sending or on an empty box), and show
  // "El asesor está escribiendo…" in a polite status line written only when
  // it changes, so it is announced once.
  const typing = (() => {
    const EVERY_MS = 1000;
    const IDLE_MS = 4000;
    const SHOWN_MAX_MS = 10000;
    let held = false;
    let on = false;
    let sentAt = 0;
    let idle = 0;
    let shownTimer = 0;
    const line = document.createElement('p');
    line.id = 'chat-typing';
    line.className = 'chat-typing';
    line.setAttribute('role', 'status');
    line.setAttribute('aria-live', 'polite');
    Object.assign(line.style, { margin: '0', padding: '0 1rem', minHeight: '1.25em', fontSize: '0.875rem', fontStyle: 'italic' });
    ui.log.insertAdjacentElement('afterend', line);
    const stop = () => {
      window.clearTimeout(idle);
      if (on) { on = false; send({ type: 'typing', on: false }); }
    };
    const show = (value) => {
      const text = value ? 'El asesor está escribiendo…' : '';
      if (line.textContent !== text) line.textContent = text;
      window.clearTimeout(shownTimer);
      if (value) shownTimer = window.setTimeout(() => show(false), SHOWN_MAX_MS);
    };
    const setHeld = (value) => {
      held = value;
      if (!held) { stop(); show(false); }
    };
    ui.input.addEventListener('input', () => {
      if (!held || !state.ready) return;
      window.clearTimeout(idle);
      if (!ui.input.value.trim()) { stop(); return; }
      const now = Date.now();
      if ((!on || now - sentAt >= EVERY_MS) && send({ type: 'typing', on: true })) {
        on = true;
        sentAt = now;
      }
      idle = window.setTimeout(stop, IDLE_MS);
    });
    ui.form.addEventListener('submit', stop);
    return {
      onFrame(frame) { if (frame.from === 'agent') show(frame.on === true); },
      onAgent(event) { setHeld(event === 'joined'); },
      onTicket(status) { setHeld(status === 'en_atencion'); },
    };
  })();

  // ---------------------------------------------------------------- events

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text) {
      ui.input.focus();
      return;
    }
    if (!state.ready) {
      offlineAlert();
      return;
    }
    if (send({ type: 'say', text })) {
      renderOwn(text);
      ui.input.value = '';
      state.lastAction = 'input';
    } else {
      offlineAlert();
    }
  });

  if (ui.escalate) {
    ui.escalate.addEventListener('click', () => {
      if (!state.ready) { offlineAlert(); return; }
      if (send({ type: 'escalate' })) {
        renderOwn('Quiero hablar con una persona');
        state.lastAction = 'button';
      }
      else offlineAlert();
    });
  }

  if (ui.retry) {
    ui.retry.addEventListener('click', () => {
      connect();
    });
  }

  window.addEventListener('online', () => {
    if (state.retryTimer) connect();
  });

  // Back/forward cache: close cleanly when hidden, reconnect when shown again.
  window.addEventListener('pagehide', () => {
    state.stopped = true;
    clearRetry();
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      state.ready = false;
      try { ws.close(1000, 'page hidden'); } catch (_) { /* ignore */ }
    }
  });
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    state.stopped = false;
    state.attempt = 0;
    connect();
  });

  // ------------------------------------------------------------------ start

  setInputMode(null, null);
  updateEmpty();
  updateControls();
  connect();

  window.secobot = Object.freeze({
    version: 1,
    state() {
      return {
        session: state.session,
        ready: state.ready,
        maxSeq: state.maxSeq,
        rendered: Array.from(state.rendered).sort((a, b) => a - b),
        attempt: state.attempt,
        storedLastSeq: state.storedLastSeq,
      };
    },
    reconnect() {
      if (state.ws) {
        try { state.ws.close(); } catch (_) { /* ignore */ }
      } else {
        connect();
      }
    },
  });
})();
