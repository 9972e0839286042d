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
    agents: byId('chat-agents'),
    retryIn: byId('chat-retry-in'),
    newer: byId('chat-new'),
    counter: byId('chat-counter'),
    transcript: byId('chat-transcript'),
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
  /** The server's `--max-text` (characters), from the page. */
  const MAX_TEXT = Number(ui.input.dataset.maxText) || 4000;
  /** Show the character counter from this length on. */
  const COUNTER_FROM = Math.floor(MAX_TEXT * 0.9);
  const WELCOME_TIMEOUT_MS = 15000;
  const ALERT_MS = 7000;

  const state = {
    ws: null,
    ready: false, // a welcome arrived on the current socket
    stopped: false, // page is being hidden/unloaded: do not reconnect
    session: store.get(KEY_SESSION) || null,
    transcript: null, // the printable transcript's path, from `welcome`
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
    // This tab's own messages sent and not yet confirmed, oldest first:
    // {id, msg, text}. The server confirms each with `ack {seq, client_id}`
    // once stored, whoever answers it (bot, agent, or nobody yet).
    pending: [],
    // Messages typed while offline, oldest first: sent on reconnect, in order.
    outbox: [],
    nextId: 1,
    // Keep the newest message in view (false once the user scrolls up to read).
    follow: true,
    // The first message of the current answer: it stays in view while the
    // rest of the answer arrives below it.
    turnStart: null,
    // The scrollTop this script set last (its own scroll events are not the user's).
    autoTop: -1,
    // The first message that arrived while the user was reading above.
    firstUnseen: null,
    ticketStatus: null,
    rating: null, // the rating form, while shown
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
    esperando_usuario: 'en espera de su respuesta',
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

  // Times are shown in Bogotá time, as `29/11/2026 10:44` (time only: `10:44`).
  let bogota = null;
  try {
    bogota = new Intl.DateTimeFormat('es-CO', {
      timeZone: 'America/Bogota', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
  } catch (_) { /* very old browser: UTC−5 by hand below */ }

  function bogotaParts(d) {
    if (bogota) {
      const p = {};
      bogota.formatToParts(d).forEach((x) => { p[x.type] = x.value; });
      return p;
    }
    const b = new Date(d.getTime() - 5 * 3600 * 1000); // Colombia has no daylight saving
    const two = (n) => String(n).padStart(2, '0');
    return {
      day: two(b.getUTCDate()), month: two(b.getUTCMonth() + 1), year: String(b.getUTCFullYear()),
      hour: two(b.getUTCHours()), minute: two(b.getUTCMinutes()),
    };
  }

  function formatDate(value) {
    const s = str(value);
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (day) return day[3] + '/' + day[2] + '/' + day[1];
    const d = new Date(s);
    if (!s || Number.isNaN(d.getTime())) return s;
    const p = bogotaParts(d);
    return p.day + '/' + p.month + '/' + p.year + ' ' + p.hour + ':' + p.minute;
  }

  function formatTime(value) {
    const d = new Date(str(value));
    if (!value || Number.isNaN(d.getTime())) return '';
    const p = bogotaParts(d);
    return p.hour + ':' + p.minute;
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

  /** The live status region changes only when the state does (announced once). */
  function setStatus(stateName, text) {
    if (!ui.status) return;
    ui.status.dataset.state = stateName;
    if (ui.status.textContent !== text) ui.status.textContent = text;
    if (ui.retry) ui.retry.hidden = stateName !== 'offline';
    if (ui.retryIn && stateName !== 'offline') {
      ui.retryIn.hidden = true;
      ui.retryIn.textContent = '';
    }
  }

  /** The countdown to the next try: visible, never announced (not a live region). */
  function setRetryIn(text) {
    if (!ui.retryIn) return;
    ui.retryIn.textContent = text;
    ui.retryIn.hidden = !text;
  }

  function updateControls() {
    // The text box and Enter keep working offline: messages wait in the outbox.
    const off = !state.ready;
    if (ui.escalate) ui.escalate.disabled = off;
  }

  function refreshInfo() {
    if (!ui.info) return;
    const anything = (ui.ticket && !ui.ticket.hidden) || (ui.agent && !ui.agent.hidden);
    ui.info.hidden = !anything;
  }

  /** While an agent attends, «Hablar con una persona» has nothing to offer. */
  function setAttended(attended) {
    if (ui.escalate) ui.escalate.hidden = attended;
  }

  function showTicket(id, status) {
    if (id) setAttended(status === 'en_atencion');
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
    setAttended(event === 'joined');
    ui.agent.dataset.event = event;
    ui.agent.hidden = false;
    refreshInfo();
  }

  function clearInfo() {
    if (ui.ticket) { ui.ticket.textContent = ''; ui.ticket.hidden = true; }
    if (ui.agent) { ui.agent.textContent = ''; ui.agent.hidden = true; }
    setAttended(false);
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

  function clearAlert() {
    if (!ui.alert) return;
    window.clearTimeout(state.alertTimer);
    ui.alert.textContent = '';
  }

  function offlineAlert() {
    showAlert('Sin conexión. Espere a que se restablezca para continuar.');
  }

  function tooLongMessage(length) {
    const n = (x) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
    return 'El texto es demasiado largo: el límite es de ' + n(MAX_TEXT) + ' caracteres y el suyo tiene '
      + n(length) + '. Acórtelo e intente de nuevo.';
  }

  /** Shows how many characters are left once the text nears the limit,
   * counted as they are sent and checked: without the spaces around. */
  function updateCounter() {
    if (!ui.counter) return;
    const length = Array.from(ui.input.value.trim()).length;
    if (length < COUNTER_FROM) {
      ui.counter.hidden = true;
      ui.counter.textContent = '';
      return;
    }
    const n = (x) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
    ui.counter.hidden = false;
    ui.counter.dataset.over = length > MAX_TEXT ? 'true' : 'false';
    ui.counter.textContent = n(length) + ' de ' + n(MAX_TEXT) + ' caracteres'
      + (length > MAX_TEXT ? ': el texto es demasiado largo.' : '');
  }

  /** "Asesores disponibles", or when they are back (the `welcome.agents` field). */
  function showAgentsAvailability(agents) {
    if (!ui.agents) return;
    if (!agents || typeof agents !== 'object') {
      ui.agents.hidden = true;
      return;
    }
    let text;
    const next = typeof agents.next === 'string' ? agents.next.trim() : '';
    if (agents.available === true) {
      text = 'Asesores disponibles';
    } else if (next) {
      // `next` is "30/11/2026 07:00" or already "el lunes 30/11/2026 a las 7:00".
      text = 'Asesores fuera de horario · disponibles desde ' + (/^el\s/i.test(next) ? next : 'el ' + next);
    } else {
      // Within hours (or none set) but nobody at a console right now.
      text = 'Asesores no disponibles en este momento';
    }
    ui.agents.textContent = text;
    ui.agents.dataset.available = agents.available === true ? 'true' : 'false';
    ui.agents.hidden = false;
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
    // The visible words are the button's name (no aria-label that differs:
    // speech users say what they see); the emoji is decoration.
    const make = (icon, label, useful) => {
      const b = el('button', 'feedback-btn');
      const i = el('span', 'feedback-icon', icon);
      i.setAttribute('aria-hidden', 'true');
      b.append(i, ' ' + label);
      b.type = 'button';
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
      make('👍', 'Me sirvió', true),
      make('👎', 'No me sirvió', false),
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
        const id = nextClientId();
        if (!send({ type: 'choose', value, client_id: id })) { offlineAlert(); return; }
        renderOwn(label, id);
        b.classList.add('is-chosen');
        b.setAttribute('aria-pressed', 'true');
        disableButtons(group.parentNode || group);
        // The pressed button is now disabled: the text box takes the focus.
        focusInput(false);
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
        a.setAttribute('rel', 'noopener noreferrer');
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

  // Scrolling is instant: a smooth scroll's intermediate positions would look
  // like the user scrolling away.
  function scrollLogTo(top) {
    const max = Math.max(0, ui.log.scrollHeight - ui.log.clientHeight);
    const target = Math.max(0, Math.min(max, Math.round(top)));
    state.autoTop = target;
    ui.log.scrollTop = target;
  }

  function scrollToBottom() {
    scrollLogTo(ui.log.scrollHeight);
    state.follow = true;
    state.turnStart = null;
    hideNewer();
  }

  /** Where `node` starts inside the log's scrolled content (the log is positioned). */
  function topInLog(node) {
    const pad = parseFloat(window.getComputedStyle(ui.log).paddingTop) || 0;
    return node.offsetTop - Math.min(pad, 12);
  }

  /**
   * A new message from the other side: its answer's first line must be in
   * view. The view follows the answer down only as far as its start stays on
   * screen; a user reading above is not moved, a button offers the new message.
   */
  function revealLive(msg) {
    if (!state.follow) {
      if (!state.firstUnseen) state.firstUnseen = msg;
      showNewer();
      return;
    }
    if (!state.turnStart || !state.turnStart.isConnected) state.turnStart = msg;
    const bottom = ui.log.scrollHeight - ui.log.clientHeight;
    scrollLogTo(Math.min(bottom, topInLog(state.turnStart)));
  }

  /**
   * The log changed size (a phone turned, the on-screen keyboard, a resized
   * window): a reader following the conversation keeps the start of the
   * answer being read, or else the end, in view, as after a new message.
   */
  function onLogResize() {
    if (!state.follow) return;
    const bottom = ui.log.scrollHeight - ui.log.clientHeight;
    const start = state.turnStart && state.turnStart.isConnected ? topInLog(state.turnStart) : bottom;
    scrollLogTo(Math.min(bottom, start));
  }

  function showNewer() {
    if (ui.newer) ui.newer.hidden = false;
  }

  function hideNewer() {
    state.firstUnseen = null;
    if (ui.newer) ui.newer.hidden = true;
  }

  /** The user scrolled: follow new messages again only once back at the bottom. */
  function onLogScroll() {
    const top = ui.log.scrollTop;
    if (Math.abs(top - state.autoTop) <= 2) return; // our own scroll
    state.autoTop = -1;
    if (isNearBottom()) {
      state.follow = true;
      hideNewer();
    } else {
      state.follow = false;
      state.turnStart = null;
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

    if (live && seq > 0) rememberSession();
    const from = token(reply.from, 'bot');
    if (from === 'user' && adoptOwn(reply, seq)) return null;
    const kind = token(reply.kind, 'notice');

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
        a.setAttribute('rel', 'noopener noreferrer');
      });
    } else {
      body.textContent = str(reply.text);
    }
    msg.appendChild(body);

    // Ticket line.
    const ticket = reply.ticket && typeof reply.ticket === 'object' ? reply.ticket : null;
    if (ticket && ticket.id != null) {
      let line = 'Caso ' + str(ticket.id) + ' — estado: ' + humanStatus(ticket.status);
      // No deadline runs on a resolved case or one that waits for the user.
      const running = ticket.status !== 'resuelto' && ticket.status !== 'esperando_usuario';
      if (ticket.due && running) line += ' · fecha límite: ' + formatDate(ticket.due);
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
    insertMessage(msg);
    updateEmpty();
    if (live) {
      revealLive(msg); // an echo here is another tab's message
    }
    if (from === 'user' || kind === 'echo') showTranscriptLink();

    // Adapt the text box to what the latest message expects.
    if (from !== 'user') {
      const flow = reply.flow && typeof reply.flow === 'object' ? reply.flow : null;
      const expects = flow && typeof flow.input === 'string' && flow.input ? flow.input : null;
      setInputMode(expects, expects ? body.id : null);
      // After every turn the text box has the focus, never a button (a
      // sentence typed next must not press "Confirmar y crear el caso").
      if (live && !answeringRating()) focusInput(!!expects || isInsideLog(document.activeElement));
    }
    return msg;
  }

  /** The user is filling in the rating form: a new message must not take the focus away. */
  function answeringRating() {
    return !!state.rating && state.rating.contains(document.activeElement);
  }

  function isInsideLog(node) {
    return !!node && node !== ui.log && ui.log.contains(node);
  }

  /** Messages with a seq go in seq order; local notes (rating form) stay last. */
  function insertMessage(msg) {
    const tail = state.rating && state.rating.isConnected ? state.rating : null;
    if (tail) ui.log.insertBefore(msg, tail);
    else ui.log.appendChild(msg);
  }

  function showTranscriptLink() {
    // The server's link: a sealed key, never the session token itself.
    if (!ui.transcript || !state.session || !state.transcript) return;
    ui.transcript.setAttribute('href', state.transcript);
    ui.transcript.hidden = false;
  }

  /** Error codes that mean the message this tab just sent was not taken. */
  const REFUSED_MESSAGE = new Set([
    'empty_text', 'text_too_long', 'rate_limited', 'frame_too_large',
    'unknown_choice', 'internal', 'invalid_frame',
  ]);

  function nextClientId() {
    const id = 'c' + Date.now().toString(36) + '-' + state.nextId;
    state.nextId += 1;
    return id;
  }

  /** Shows a message this tab just sent (or queued): faded until the server confirms it. */
  function renderOwn(text, id, queued) {
    const msg = el('div', 'msg msg-user kind-echo ' + (queued ? 'is-queued' : 'is-pending'));
    msg.appendChild(el('span', 'visually-hidden', 'Usted:'));
    msg.appendChild(el('div', 'msg-body', text));
    if (queued) msg.appendChild(el('p', 'msg-queued-note', 'Se enviará al reconectar.'));
    insertMessage(msg);
    const entry = { id, msg, text };
    if (queued) state.outbox.push(entry);
    else state.pending.push(entry);
    updateEmpty();
    scrollToBottom();
    return entry;
  }

  function settle(entry, seq) {
    entry.msg.classList.remove('is-pending', 'is-queued');
    const note = entry.msg.querySelector('.msg-queued-note');
    if (note) note.remove();
    if (seq > 0 && !state.rendered.has(seq)) {
      entry.msg.dataset.seq = String(seq);
      state.rendered.add(seq);
      if (seq > state.maxSeq) {
        state.maxSeq = seq;
        store.set(KEY_LAST_SEQ, seq);
      }
    }
  }

  /** `ack`: the server stored this tab's message with `seq`. */
  /** Keeps this conversation's token for the next visit (it is stored now). */
  function rememberSession() {
    if (state.session && store.get(KEY_SESSION) !== state.session) {
      store.set(KEY_SESSION, state.session);
    }
  }

  function onAck(frame) {
    rememberSession();
    const seq = Number(frame.seq);
    const i = state.pending.findIndex((p) => p.id === frame.client_id);
    if (i < 0 || !Number.isSafeInteger(seq)) return;
    settle(state.pending.splice(i, 1)[0], seq);
    showTranscriptLink();
  }

  /** A replayed message of this tab still unconfirmed (the socket closed first). */
  function adoptOwn(reply, seq) {
    const i = state.pending.findIndex((p) => p.text === str(reply.text));
    if (i < 0) return false;
    settle(state.pending.splice(i, 1)[0], seq);
    return true;
  }

  /**
   * The server refused one of this tab's messages: frames are answered in
   * order, so it is the oldest one not yet confirmed. Says so on it; a text
   * refused as too long goes back into the empty text box to be shortened.
   */
  function failOwn(code) {
    const entry = state.pending.shift();
    if (!entry) return;
    entry.msg.classList.remove('is-pending');
    entry.msg.classList.add('is-failed');
    entry.msg.appendChild(el('p', 'msg-failed-note', 'No se envió.'));
    if (code === 'text_too_long' && !ui.input.value) {
      ui.input.value = entry.text;
      updateCounter();
    }
  }

  /** After a reconnect: messages that never reached the server go now, in order. */
  function flushOutbox() {
    while (state.outbox.length && state.ready) {
      const entry = state.outbox[0];
      if (!send({ type: 'say', text: entry.text, client_id: entry.id })) return;
      state.outbox.shift();
      entry.msg.classList.remove('is-queued');
      entry.msg.classList.add('is-pending');
      const note = entry.msg.querySelector('.msg-queued-note');
      if (note) note.remove();
      state.pending.push(entry);
    }
  }

  // --------------------------------------------------------------- rating

  const SCORES = [
    [1, '1 · Muy mala'],
    [2, '2 · Mala'],
    [3, '3 · Regular'],
    [4, '4 · Buena'],
    [5, '5 · Excelente'],
  ];
  const MAX_COMMENT = 1000;

  /** The agent resolved the case just now: ask for a rating. */
  function onTicketStatus(status) {
    const before = state.ticketStatus;
    state.ticketStatus = str(status);
    if (state.ticketStatus === 'resuelto' && before && before !== 'resuelto') showRating();
  }

  /** "¿Cómo le pareció la atención?": five radio buttons and an optional comment. */
  function showRating() {
    if (state.rating && state.rating.isConnected) return;
    const form = el('form', 'rating');
    form.noValidate = true;
    const set = el('fieldset', 'rating-set');
    set.appendChild(el('legend', 'rating-question', '¿Cómo le pareció la atención?'));
    const options = el('div', 'rating-options');
    SCORES.forEach(([score, label]) => {
      const id = 'rating-score-' + score;
      const input = el('input', 'rating-radio');
      input.type = 'radio';
      input.name = 'score';
      input.value = String(score);
      input.id = id;
      const lab = el('label', 'rating-option', label);
      lab.htmlFor = id;
      const wrap = el('span', 'rating-choice');
      wrap.append(input, lab);
      options.appendChild(wrap);
    });
    set.appendChild(options);
    const commentLabel = el('label', 'rating-comment-label', 'Comentario (opcional)');
    commentLabel.htmlFor = 'rating-comment';
    const comment = el('textarea', 'rating-comment');
    comment.id = 'rating-comment';
    comment.name = 'comment';
    comment.rows = 2;
    comment.maxLength = MAX_COMMENT;
    const submit = el('button', 'btn btn-primary rating-send', 'Enviar calificación');
    submit.type = 'submit';
    form.append(set, commentLabel, comment, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = form.querySelector('input[name="score"]:checked');
      if (!chosen) {
        showAlert('Elija una calificación de 1 a 5.');
        const first = form.querySelector('input[name="score"]');
        if (first) first.focus();
        return;
      }
      if (!state.ready) { offlineAlert(); return; }
      const frame = { type: 'rating', score: Number(chosen.value) };
      const text = comment.value.trim();
      if (text) frame.comment = text;
      if (!send(frame)) { offlineAlert(); return; }
      submit.disabled = true;
    });
    state.rating = form;
    ui.log.appendChild(form);
    updateEmpty();
    if (state.follow) scrollLogTo(ui.log.scrollHeight);
    else showNewer();
  }

  function closeRating(text) {
    const form = state.rating;
    state.rating = null;
    if (!form || !form.isConnected) return;
    const p = el('p', 'local-notice rating-thanks', text);
    p.tabIndex = -1;
    const hadFocus = form.contains(document.activeElement);
    form.replaceWith(p);
    if (hadFocus) focusInput(false);
  }

  function onRated(frame) {
    clearAlert(); // "Elija una calificación…" is answered now
    const score = Number(frame.score);
    closeRating('Gracias por calificar la atención' + (score >= 1 && score <= 5 ? ' (' + score + ' de 5).' : '.'));
  }

  function onRatingRefused(code) {
    if (code === 'rating_not_due') {
      closeRating('La atención de este caso ya fue calificada.');
    } else if (state.rating) {
      const submit = state.rating.querySelector('.rating-send');
      if (submit) submit.disabled = false;
    }
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
    state.pending = [];
    state.rating = null;
    state.ticketStatus = null;
    if (ui.transcript) ui.transcript.hidden = true;
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
    setStatus('offline', 'Sin conexión.');
    setRetryIn('Reintentando en ' + secs + ' s…');
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
    // A retry while offline is not news: the live status keeps saying
    // "Sin conexión" until connected (announced once per change).
    if (ui.status && ui.status.dataset.state === 'offline') setRetryIn('Reintentando…');
    else setStatus('connecting', 'Conectando…');

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
        onTicketStatus(frame.status);
        break;
      case 'agent':
        showAgent(frame.event, frame.name);
        typing.onAgent(frame.event);
        break;
      case 'typing':
        typing.onFrame(frame);
        break;
      case 'ack':
        onAck(frame);
        break;
      case 'rated':
        onRated(frame);
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
        if (REFUSED_MESSAGE.has(frame.code)) failOwn(frame.code);
        if (frame.code === 'invalid_rating' || frame.code === 'rating_not_due') onRatingRefused(frame.code);
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
      // Kept across visits only once something of it is stored (the first
      // ack or reply does it): a visitor who never wrote is not told next
      // time that their conversation was lost. A new conversation replaces
      // a token the server no longer knows.
      if (frame.resumed === true) rememberSession();
      else store.remove(KEY_SESSION);
    }
    if (typeof frame.transcript === 'string' && frame.transcript.startsWith('/chat/transcript')) {
      state.transcript = frame.transcript;
    }
    if (fresh && !history.some((r) => r && r.kind === 'notice')) {
      addLocalNotice('Comenzamos una conversación nueva.');
    }

    history
      .slice()
      .sort((a, b) => Number(a && a.seq) - Number(b && b.seq))
      .forEach((reply) => renderReply(reply, false));
    // Messages typed offline come after what was said before them (and
    // survive a conversation the server no longer knows).
    state.outbox.forEach((entry) => insertMessage(entry.msg));

    showAgentsAvailability(frame.agents);
    state.ready = true;
    state.attempt = 0;
    setStatus('online', 'Conectado');
    updateControls();
    if (history.length) scrollToBottom();
    if (frame.rating_due === true) showRating();
    flushOutbox();
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
    const length = Array.from(text).length;
    if (length > MAX_TEXT) {
      // The text stays in the box to be shortened.
      showAlert(tooLongMessage(length));
      ui.input.focus();
      return;
    }
    const id = nextClientId();
    if (state.ready && send({ type: 'say', text, client_id: id })) {
      renderOwn(text, id, false);
    } else {
      // Offline: shown at once as waiting, sent in order on reconnect.
      renderOwn(text, id, true);
    }
    ui.input.value = '';
    updateCounter();
  });

  ui.input.addEventListener('input', updateCounter);

  if (ui.escalate) {
    ui.escalate.addEventListener('click', () => {
      if (!state.ready) { offlineAlert(); return; }
      const id = nextClientId();
      if (send({ type: 'escalate', client_id: id })) renderOwn('Quiero hablar con una persona', id, false);
      else offlineAlert();
    });
  }

  ui.log.addEventListener('scroll', onLogScroll, { passive: true });
  if (typeof ResizeObserver === 'function') new ResizeObserver(onLogResize).observe(ui.log);

  if (ui.newer) {
    ui.newer.addEventListener('click', () => {
      const target = state.firstUnseen;
      hideNewer();
      state.follow = true;
      if (target && target.isConnected) {
        state.turnStart = target;
        const bottom = ui.log.scrollHeight - ui.log.clientHeight;
        scrollLogTo(Math.min(bottom, topInLog(target)));
      } else {
        scrollToBottom();
      }
      focusInput(false);
    });
  }

  // Typing while a button of the conversation has the focus goes to the text
  // box: a sentence must never press a button (space and Enter would).
  ui.log.addEventListener('keydown', (event) => {
    const t = event.target;
    if (!t || t.tagName !== 'BUTTON' || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typeof event.key !== 'string' || event.key.length !== 1 || event.key === ' ') return;
    if (ui.input.disabled) return;
    ui.input.focus();
  });

  // Inside the embed launcher's panel, Escape closes it (the page is another origin).
  if (window.parent !== window) {
    document.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      try { window.parent.postMessage({ type: 'secobot:close' }, '*'); } catch (_) { /* ignore */ }
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
