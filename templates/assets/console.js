/* secobot — agent console over /agent/ws.
 *
 * Everything that comes from users (previews, transcripts, case fields) and
 * from the knowledge base is put in the page with textContent only: this file
 * never assigns innerHTML, outerHTML or insertAdjacentHTML.
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) {
    return;
  }

  var RECONNECT_MAX_S = 30;
  var WAIT_TICK_MS = 30000;
  var STALE_AFTER_MS = 5000;
  var ALERT_CLEAR_MS = 15000;
  var NOTICE_CLEAR_MS = 12000;
  var EXCERPT_CHARS = 280;
  var NOTE_HINT = "El usuario leerá esta nota en el chat y queda en el caso: explíquele con claridad qué se resolvió.";
  var TYPING_EVERY_MS = 1000;
  var TYPING_IDLE_MS = 4000;
  var SOUND_KEY = "secobot.console.sound";
  var NOTIFY_ASKED_KEY = "secobot.console.notify-asked";

  var FIELD_LABELS = [
    ["nombre", "Nombre"],
    ["tipo_documento", "Tipo de documento"],
    ["numero_documento", "Número de documento"],
    ["organizacion", "Entidad u organización"],
    ["nit", "NIT"],
    ["correo", "Correo electrónico"],
    ["telefono", "Teléfono"],
    ["tipo_usuario", "Tipo de usuario"],
    ["proceso", "Proceso"],
    ["descripcion", "Descripción"],
    ["autorizacion_datos", "Autorización de datos personales"]
  ];

  /** How a field's stored value reads for agents (the consent is stored as
   * the word the form sets). */
  function fieldValue(key, value) {
    if (key === "autorizacion_datos") {
      return value === "acepto" ? "Aceptada" : value;
    }
    return value;
  }

  var STATUS_LABELS = {
    abierto: "Abierto",
    en_atencion: "En atención",
    esperando_usuario: "Esperando usuario",
    resuelto: "Resuelto"
  };

  var AUTHORS = { user: "Usuario", bot: "Asistente", agent: "Asesor", system: "Sistema" };

  var me = {
    name: root.getAttribute("data-name") || "",
    displayName: root.getAttribute("data-display-name") || "",
    role: root.getAttribute("data-role") || ""
  };

  var els = {
    status: document.getElementById("console-status"),
    retry: document.getElementById("console-retry"),
    alert: document.getElementById("console-alert"),
    notice: document.getElementById("console-notice"),
    mail: document.getElementById("console-mail"),
    agentName: document.getElementById("agent-name"),
    queue: document.getElementById("queue"),
    queueEmpty: document.getElementById("queue-empty"),
    queueCount: document.getElementById("queue-count"),
    conversations: document.getElementById("conversations"),
    conversationsEmpty: document.getElementById("conversations-empty"),
    conversationsCount: document.getElementById("conversations-count"),
    conversationsRegion: document.getElementById("conversations-region")
  };

  var baseTitle = document.title;

  var state = {
    ws: null,
    connected: false,
    everConnected: false,
    attempt: 0,
    failuresBeforeOpen: 0,
    reconnectTimer: null,
    staleTimer: null,
    checkingLogin: false,
    queue: [],
    pendingClaims: Object.create(null),
    conversations: new Map(),
    searches: [],
    idCounter: 0,
    alertTimer: null,
    noticeTimer: null
  };

  /* ------------------------------------------------------------ helpers */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function nextId(prefix) {
    state.idCounter += 1;
    return prefix + "-" + state.idCounter;
  }

  function str(value) {
    if (value === undefined || value === null) {
      return "";
    }
    return typeof value === "string" ? value : String(value);
  }

  function safeToken(value) {
    return str(value).toLowerCase().replace(/[^a-z0-9_-]/g, "");
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function parseTime(value) {
    if (!value) {
      return null;
    }
    var d = new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }

  /* Times are shown in Bogotá time, whatever the agent's computer says, in
   * one format: 29/11/2026 10:44. */
  var BOGOTA = (function () {
    try {
      return new Intl.DateTimeFormat("es-CO", {
        timeZone: "America/Bogota",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23"
      });
    } catch (e) {
      return null;
    }
  })();

  function bogotaParts(date) {
    var out = {};
    if (BOGOTA && typeof BOGOTA.formatToParts === "function") {
      BOGOTA.formatToParts(date).forEach(function (p) {
        out[p.type] = p.value;
      });
      if (out.hour === "24") {
        out.hour = "00";
      }
      return out;
    }
    // No time-zone support: Colombia is UTC−5 all year (no daylight saving since 1993).
    var d = new Date(date.getTime() - 5 * 3600 * 1000);
    return {
      year: String(d.getUTCFullYear()),
      month: pad2(d.getUTCMonth() + 1),
      day: pad2(d.getUTCDate()),
      hour: pad2(d.getUTCHours()),
      minute: pad2(d.getUTCMinutes())
    };
  }

  function hhmm(date) {
    var p = bogotaParts(date);
    return p.hour + ":" + p.minute;
  }

  function fullDate(date) {
    var p = bogotaParts(date);
    return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute;
  }

  /* A calendar date from the server (YYYY-MM-DD) as 29/11/2026. */
  function dayText(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(value));
    return m ? m[3] + "/" + m[2] + "/" + m[1] : str(value);
  }

  function waitingText(since) {
    var d = parseTime(since);
    if (!d) {
      return "";
    }
    var minutes = Math.floor((Date.now() - d.getTime()) / 60000);
    if (minutes < 1) {
      return "hace menos de 1 min";
    }
    if (minutes < 60) {
      return "hace " + minutes + " min";
    }
    var hours = Math.floor(minutes / 60);
    if (hours < 24) {
      var rest = minutes % 60;
      return "hace " + hours + " h" + (rest ? " " + rest + " min" : "");
    }
    var days = Math.floor(hours / 24);
    return "hace " + days + (days === 1 ? " día" : " días");
  }

  function fieldLabel(key) {
    for (var i = 0; i < FIELD_LABELS.length; i++) {
      if (FIELD_LABELS[i][0] === key) {
        return FIELD_LABELS[i][1];
      }
    }
    var words = str(key).replace(/[_-]+/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : key;
  }

  function isMe(agentName) {
    return !!agentName && (agentName === me.name || (me.displayName && agentName === me.displayName));
  }

  function cssEscape(value) {
    if (window.CSS && typeof window.CSS.escape === "function") {
      return window.CSS.escape(value);
    }
    return str(value).replace(/["\\\]\[]/g, "\\$&");
  }

  /* ----------------------------------------------------- status regions */

  function setStatus(kind, text) {
    if (!els.status) {
      return;
    }
    els.status.setAttribute("data-state", kind);
    if (els.status.textContent !== text) {
      els.status.textContent = text;
    }
    if (els.retry) {
      els.retry.hidden = kind !== "offline";
    }
    root.classList.toggle("is-offline", kind !== "online");
  }

  function flash(node, text, timerKey, clearAfter) {
    if (!node) {
      return;
    }
    clearTimeout(state[timerKey]);
    if (node.textContent === text) {
      // Same words again: clear first so assistive technology announces it.
      node.textContent = "";
      setTimeout(function () {
        node.textContent = text;
      }, 60);
    } else {
      node.textContent = text;
    }
    state[timerKey] = setTimeout(function () {
      node.textContent = "";
    }, clearAfter);
  }

  function showAlert(text) {
    flash(els.alert, text, "alertTimer", ALERT_CLEAR_MS);
  }

  function clearAlert() {
    clearTimeout(state.alertTimer);
    if (els.alert) {
      els.alert.textContent = "";
    }
  }

  function showNotice(text) {
    flash(els.notice, text, "noticeTimer", NOTICE_CLEAR_MS);
  }

  /* ------------------------------------------------------------- socket */

  function send(frame) {
    var ws = state.ws;
    if (!ws || !state.connected || ws.readyState !== 1) {
      showAlert("Sin conexión con el servidor. Espere a que se restablezca e intente de nuevo.");
      return false;
    }
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      showAlert("No se pudo enviar. Intente de nuevo.");
      return false;
    }
  }

  function socketUrl() {
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + window.location.host + "/agent/ws";
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws && (state.ws.readyState === 0 || state.ws.readyState === 1)) {
      return;
    }
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      state.failuresBeforeOpen += 1;
      onDisconnected(false);
      return;
    }
    state.ws = ws;
    var opened = false;
    setStatus("connecting", state.everConnected ? "Reconectando…" : "Conectando…");

    ws.addEventListener("open", function () {
      if (state.ws !== ws) {
        return;
      }
      opened = true;
      state.connected = true;
      state.attempt = 0;
      state.failuresBeforeOpen = 0;
      setStatus("online", "Conectado");
      if (state.everConnected) {
        expectReclaims();
      }
      state.everConnected = true;
      renderQueue();
    });

    ws.addEventListener("message", function (event) {
      if (state.ws !== ws) {
        return;
      }
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") {
        handleFrame(frame);
      }
    });

    ws.addEventListener("close", function () {
      if (state.ws !== ws) {
        return;
      }
      state.ws = null;
      state.connected = false;
      if (!opened) {
        state.failuresBeforeOpen += 1;
      }
      onDisconnected(opened);
    });

    ws.addEventListener("error", function () {
      // A close event follows; nothing else to do here.
    });
  }

  function onDisconnected() {
    clearTimeout(state.staleTimer);
    state.pendingClaims = Object.create(null);
    setStatus("offline", "Sin conexión, reintentando…");
    renderQueue();
    setPanelsBusy(false);
    if (state.failuresBeforeOpen >= 2) {
      checkLogin();
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    var seconds = Math.min(RECONNECT_MAX_S, Math.pow(2, state.attempt));
    state.attempt += 1;
    var jitter = seconds >= 4 ? Math.random() * seconds * 0.1 : 0;
    state.reconnectTimer = setTimeout(connect, (seconds + jitter) * 1000);
  }

  /* The upgrade is refused with 401 when the login expired, and a browser
   * does not tell scripts why a WebSocket failed. After two failures before
   * opening, ask for the console page: if the server answers with the login
   * form, show it. */
  function checkLogin() {
    if (state.checkingLogin) {
      return;
    }
    if (typeof window.fetch !== "function") {
      window.location.replace("/agent");
      return;
    }
    state.checkingLogin = true;
    window
      .fetch("/agent", { credentials: "same-origin", cache: "no-store", redirect: "follow" })
      .then(function (response) {
        return response.ok || response.status === 401 ? response.text() : "";
      })
      .then(function (html) {
        state.checkingLogin = false;
        if (html && html.indexOf('id="login-form"') !== -1) {
          window.location.replace("/agent");
        }
      })
      .catch(function () {
        state.checkingLogin = false;
      });
  }

  function reconnectNow() {
    state.attempt = 0;
    connect();
  }

  /* After a reconnect the server sends `claimed` again for every
   * conversation this agent still holds; panels that do not come back are
   * no longer ours. */
  function expectReclaims() {
    state.conversations.forEach(function (conv) {
      conv.awaitingReclaim = true;
    });
    clearTimeout(state.staleTimer);
    state.staleTimer = setTimeout(function () {
      state.conversations.forEach(function (conv) {
        if (conv.awaitingReclaim) {
          markStale(conv);
        }
      });
    }, STALE_AFTER_MS);
  }

  /* ------------------------------------------------------------- frames */

  function handleFrame(frame) {
    switch (frame.type) {
      case "hello":
        onHello(frame);
        break;
      case "queue":
        state.queue = Array.isArray(frame.items) ? frame.items : [];
        noticeNewWaiting(state.queue);
        renderQueue();
        break;
      case "claimed":
        onClaimed(frame);
        break;
      case "message":
        onMessage(frame);
        break;
      case "released":
        onClosed(frame, "released");
        break;
      case "resolved":
        onClosed(frame, "resolved");
        break;
      case "search_results":
        onSearchResults(frame);
        break;
      case "note":
        onNote(frame);
        break;
      case "typing":
        onTyping(frame);
        break;
      case "canned_results":
        onCannedResults(frame);
        break;
      case "error":
        onError(frame);
        break;
      default:
        break;
    }
  }

  function onHello(frame) {
    var agent = frame.agent || {};
    if (agent.name) {
      me.name = str(agent.name);
      root.setAttribute("data-name", me.name);
    }
    if (agent.display_name) {
      me.displayName = str(agent.display_name);
      if (els.agentName) {
        els.agentName.textContent = me.displayName;
      }
    }
    if (agent.role) {
      me.role = str(agent.role);
      root.setAttribute("data-role", me.role);
    }
    showMailStatus(frame.mail);
  }

  /* Without --smtp-url, e-mail to users is queued but never sent: say so. */
  function showMailStatus(mail) {
    if (!els.mail || !mail) {
      return;
    }
    if (mail.smtp) {
      els.mail.hidden = true;
      els.mail.textContent = "";
      return;
    }
    var queued = Number(mail.queued) || 0;
    els.mail.textContent =
      "El correo a los usuarios no está configurado (falta --smtp-url): " +
      (queued === 1 ? "1 correo espera" : queued + " correos esperan") +
      " en la cola de salida y no se enviará" + (queued === 1 ? "" : "n") +
      " hasta configurarlo.";
    els.mail.hidden = false;
  }

  function onError(frame) {
    var message = str(frame.message) || "La operación no se pudo completar.";
    var hadClaim = Object.keys(state.pendingClaims).length > 0;
    state.pendingClaims = Object.create(null);
    if (hadClaim) {
      renderQueue();
    }
    setPanelsBusy(false);
    showAlert(message);
  }

  /* -------------------------------------------------------------- queue */

  function renderQueue() {
    if (!els.queue) {
      return;
    }
    var items = state.queue;
    var active = document.activeElement;
    var focusSession = null;
    if (active && els.queue.contains(active)) {
      var owner = active.closest(".queue-item");
      focusSession = owner ? owner.getAttribute("data-session") : null;
    }

    var seen = Object.create(null);
    var fragment = document.createDocumentFragment();
    var waiting = 0;
    items.forEach(function (item) {
      if (!item || !item.session || seen[item.session]) {
        return;
      }
      seen[item.session] = true;
      if (!item.held_by) {
        waiting += 1;
      }
      fragment.appendChild(queueItem(item));
    });

    while (els.queue.firstChild) {
      els.queue.removeChild(els.queue.firstChild);
    }
    els.queue.appendChild(fragment);

    var total = els.queue.children.length;
    if (els.queueEmpty) {
      els.queueEmpty.hidden = total > 0;
    }
    if (els.queueCount) {
      els.queueCount.textContent = "(" + waiting + (waiting === 1 ? " en espera)" : " en espera)");
    }
    renderTitle(waiting);

    if (focusSession) {
      var again = els.queue.querySelector('.queue-item[data-session="' + cssEscape(focusSession) + '"]');
      var target = again && (again.querySelector("button.claim:not(:disabled)") || again);
      if (target) {
        if (target === again) {
          again.setAttribute("tabindex", "-1");
        }
        target.focus();
      }
    }
  }

  /* A case that was not waiting before (new, or handed back) asks for attention;
   * the first queue after connecting only sets what is known. */
  function noticeNewWaiting(items) {
    var now = Object.create(null);
    items.forEach(function (item) {
      if (item && item.session && !item.held_by) {
        now[item.session] = true;
        if (state.knownWaiting && !state.knownWaiting[item.session]) {
          attention("Nuevo caso en espera: " + str(item.ticket), str(item.preview).slice(0, 140), "queue-" + str(item.session));
        }
      }
    });
    state.knownWaiting = now;
  }

  function queueItem(item) {
    var session = str(item.session);
    var ticket = str(item.ticket);
    var high = item.priority === "alta";
    var li = el("li", "queue-item");
    li.setAttribute("data-session", session);
    li.setAttribute("data-ticket", ticket);
    li.setAttribute("data-priority", high ? "alta" : "normal");
    if (high) {
      li.classList.add("priority-alta");
    }
    if (item.held_by) {
      li.classList.add("is-held");
    }

    var head = el("div", "queue-head");
    var ticketId = nextId("q-ticket");
    var title = el("span", "queue-ticket", ticket ? "Caso " + ticket : "Caso sin número");
    title.id = ticketId;
    head.appendChild(title);
    if (high) {
      head.appendChild(el("span", "badge badge-alta", "Prioridad alta"));
    }
    var wait = el("span", "queue-wait", waitingText(item.waiting_since));
    wait.setAttribute("data-since", str(item.waiting_since));
    var since = parseTime(item.waiting_since);
    if (since) {
      wait.title = "En espera desde " + fullDate(since);
    }
    head.appendChild(wait);
    li.appendChild(head);

    var preview = str(item.preview).trim();
    li.appendChild(el("p", "queue-preview", preview || "(sin descripción)"));

    var meta = [];
    if (item.user_type) {
      meta.push("Tipo de usuario: " + str(item.user_type));
    }
    if (item.organization) {
      meta.push("Entidad: " + str(item.organization));
    }
    if (meta.length) {
      li.appendChild(el("p", "queue-meta", meta.join(" · ")));
    }

    if (item.held_by) {
      var holder = str(item.held_by);
      li.appendChild(el("p", "queue-held", "Atendido por " + holder + (isMe(holder) ? " (usted)" : "")));
    }

    var button = el("button", "btn btn-primary btn-small claim", "Tomar");
    button.type = "button";
    button.setAttribute("data-session", session);
    button.setAttribute("aria-describedby", ticketId);
    var pending = !!state.pendingClaims[session];
    button.disabled = !!item.held_by || pending || !state.connected;
    if (pending) {
      button.setAttribute("aria-busy", "true");
    }
    li.appendChild(button);
    return li;
  }

  function updateWaits() {
    if (!els.queue) {
      return;
    }
    var spans = els.queue.querySelectorAll(".queue-wait[data-since]");
    for (var i = 0; i < spans.length; i++) {
      var text = waitingText(spans[i].getAttribute("data-since"));
      if (spans[i].textContent !== text) {
        spans[i].textContent = text;
      }
    }
  }

  function claim(session) {
    if (!session || state.pendingClaims[session]) {
      return;
    }
    var existing = state.conversations.get(session);
    if (existing && !existing.stale) {
      focusConversation(existing);
      return;
    }
    clearAlert();
    if (send({ type: "claim", session: session })) {
      state.pendingClaims[session] = true;
      renderQueue();
    }
  }

  /* ------------------------------------------------------ conversations */

  function updateConversationsUi() {
    var count = state.conversations.size;
    if (els.conversationsEmpty) {
      els.conversationsEmpty.hidden = count > 0;
    }
    if (els.conversationsCount) {
      els.conversationsCount.textContent = "(" + count + ")";
    }
    if (els.conversations) {
      els.conversations.classList.toggle("has-several", count > 1);
    }
  }

  function ticketLabel(ticket) {
    return ticket && ticket.id ? "Caso " + str(ticket.id) : "Caso";
  }

  /* "caso SB-000003" inside a sentence: the id keeps its own capitals. */
  function caseRef(ticket) {
    return ticket && ticket.id ? "caso " + str(ticket.id) : "caso";
  }

  function createConversation(session) {
    var conv = {
      session: session,
      ticket: null,
      seqs: Object.create(null),
      stale: false,
      awaitingReclaim: false
    };
    var titleId = nextId("conv-title");
    var inputId = nextId("conv-input");
    var hintId = nextId("conv-hint");
    var kbId = nextId("conv-kb");
    var noteId = nextId("conv-note");
    var noteErrId = nextId("conv-note-error");
    var cannedId = nextId("conv-canned");
    var internalId = nextId("conv-internal");

    var section = el("section", "conversation");
    section.setAttribute("data-session", session);
    section.setAttribute("aria-labelledby", titleId);
    section.setAttribute("tabindex", "-1");

    // Heading: case number, name, priority, due date.
    var head = el("div", "conv-head");
    var title = el("h3", "conv-title", "Caso");
    title.id = titleId;
    head.appendChild(title);
    var badges = el("span", "conv-badges");
    head.appendChild(badges);
    var due = el("span", "conv-due");
    head.appendChild(due);
    section.appendChild(head);

    var staleNote = el("p", "conv-stale");
    staleNote.hidden = true;
    section.appendChild(staleNote);

    // Case fields.
    var details = el("details", "case-fields");
    details.open = true;
    details.appendChild(el("summary", null, "Datos del caso"));
    var dl = el("dl", "case-dl");
    details.appendChild(dl);
    section.appendChild(details);

    // Transcript.
    var transcript = el("div", "transcript");
    transcript.setAttribute("role", "log");
    transcript.setAttribute("aria-live", "polite");
    transcript.setAttribute("aria-relevant", "additions");
    transcript.setAttribute("tabindex", "0");
    transcript.setAttribute("aria-label", "Conversación");
    section.appendChild(transcript);

    // "El usuario está escribiendo…": polite, and only changed when it changes.
    var typing = el("p", "conv-typing");
    typing.setAttribute("role", "status");
    typing.setAttribute("aria-live", "polite");
    section.appendChild(typing);

    // Message box.
    var compose = el("form", "compose");
    compose.setAttribute("novalidate", "");
    compose.setAttribute("autocomplete", "off");
    var label = el("label", "label", "Respuesta al usuario");
    label.htmlFor = inputId;
    compose.appendChild(label);
    var row = el("div", "compose-row");
    var input = el("textarea", "agent-input");
    input.id = inputId;
    input.name = "text";
    input.rows = 3;
    input.setAttribute("spellcheck", "true");
    input.setAttribute("aria-describedby", hintId);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", cannedId);
    row.appendChild(input);
    var sendBtn = el("button", "btn btn-primary agent-send", "Enviar");
    sendBtn.type = "submit";
    row.appendChild(sendBtn);
    compose.appendChild(row);
    var hint = el("p", "hint", "Ctrl+Enter para enviar. Escriba / y parte del título para usar una respuesta guardada. El usuario ve su nombre de asesor.");
    hint.id = hintId;
    var canned = el("ul", "canned-list");
    canned.id = cannedId;
    canned.setAttribute("role", "listbox");
    canned.setAttribute("aria-label", "Respuestas guardadas");
    canned.hidden = true;
    compose.appendChild(canned);
    var cannedState = el("p", "canned-state visually-hidden");
    cannedState.setAttribute("role", "status");
    cannedState.setAttribute("aria-live", "polite");
    compose.appendChild(cannedState);
    compose.appendChild(hint);
    section.appendChild(compose);

    // Knowledge search.
    var kb = el("div", "kb");
    var kbBody = el("div", "kb-body");
    var kbForm = el("form", "kb-form");
    kbForm.setAttribute("role", "search");
    kbForm.setAttribute("novalidate", "");
    var kbLabel = el("label", "label", "Buscar en la base de conocimiento");
    kbLabel.htmlFor = kbId;
    var kbLabelWrap = el("div", "kb-label");
    kbLabelWrap.appendChild(kbLabel);
    kbBody.appendChild(kbLabelWrap);
    var kbInput = el("input", "kb-search");
    kbInput.type = "search";
    kbInput.id = kbId;
    kbInput.name = "query";
    kbInput.setAttribute("autocomplete", "off");
    kbInput.placeholder = "Ej.: cómo registrar una entidad";
    kbForm.appendChild(kbInput);
    var kbButton = el("button", "btn btn-secondary kb-search-go", "Buscar");
    kbButton.type = "submit";
    kbForm.appendChild(kbButton);
    kbBody.appendChild(kbForm);
    var kbState = el("p", "kb-state");
    kbState.setAttribute("role", "status");
    kbState.setAttribute("aria-live", "polite");
    kbBody.appendChild(kbState);
    var kbResults = el("ul", "kb-results");
    kbResults.setAttribute("aria-label", "Resultados de la búsqueda");
    kbBody.appendChild(kbResults);
    kb.appendChild(kbBody);
    section.appendChild(kb);

    // Internal notes: for agents and supervisors only.
    var notes = el("div", "internal-notes");
    var notesTitle = el("h4", "notes-title", "Notas internas");
    notes.appendChild(notesTitle);
    notes.appendChild(el("p", "hint", "Solo las ven los asesores y supervisores; el usuario no las recibe."));
    var notesList = el("ul", "notes-list");
    notesList.setAttribute("aria-label", "Notas internas del caso");
    notes.appendChild(notesList);
    var noteForm = el("form", "note-form");
    noteForm.setAttribute("novalidate", "");
    noteForm.setAttribute("autocomplete", "off");
    var internalLabel = el("label", "label", "Nueva nota interna");
    internalLabel.htmlFor = internalId;
    noteForm.appendChild(internalLabel);
    var internalRow = el("div", "compose-row");
    var internal = el("textarea", "note-input");
    internal.id = internalId;
    internal.name = "internal-note";
    internal.rows = 2;
    internalRow.appendChild(internal);
    var internalBtn = el("button", "btn btn-secondary note-save", "Guardar nota");
    internalBtn.type = "submit";
    internalRow.appendChild(internalBtn);
    noteForm.appendChild(internalRow);
    notes.appendChild(noteForm);
    section.appendChild(notes);

    // Actions.
    var actions = el("div", "conv-actions");
    var releaseBtn = el("button", "btn btn-secondary release", "Devolver al bot");
    releaseBtn.type = "button";
    actions.appendChild(releaseBtn);
    var resolveBtn = el("button", "btn btn-confirm resolve", "Resolver");
    resolveBtn.type = "button";
    resolveBtn.setAttribute("aria-expanded", "false");
    actions.appendChild(resolveBtn);
    var closeBtn = el("button", "btn btn-secondary conv-close", "Cerrar panel");
    closeBtn.type = "button";
    closeBtn.hidden = true;
    actions.appendChild(closeBtn);
    section.appendChild(actions);

    // Resolve form (hidden until "Resolver").
    var resolveForm = el("form", "resolve-form");
    resolveForm.setAttribute("novalidate", "");
    resolveForm.hidden = true;
    var noteLabel = el("label", "label", "Nota de resolución para el usuario (obligatoria)");
    noteLabel.htmlFor = noteId;
    resolveForm.appendChild(noteLabel);
    var note = el("textarea", "resolve-note");
    note.id = noteId;
    note.name = "note";
    note.rows = 3;
    note.required = true;
    note.setAttribute("aria-required", "true");
    note.setAttribute("aria-describedby", noteErrId);
    resolveForm.appendChild(note);
    var noteErr = el("p", "hint resolve-error");
    noteErr.id = noteErrId;
    noteErr.textContent = NOTE_HINT;
    resolveForm.appendChild(noteErr);
    var resolveButtons = el("div", "resolve-buttons");
    var confirmBtn = el("button", "btn btn-confirm resolve-confirm", "Confirmar resolución");
    confirmBtn.type = "submit";
    resolveButtons.appendChild(confirmBtn);
    var cancelBtn = el("button", "btn btn-secondary resolve-cancel", "Cancelar");
    cancelBtn.type = "button";
    resolveButtons.appendChild(cancelBtn);
    resolveForm.appendChild(resolveButtons);
    section.appendChild(resolveForm);

    conv.el = section;
    conv.title = title;
    conv.badges = badges;
    conv.due = due;
    conv.staleNote = staleNote;
    conv.dl = dl;
    conv.transcript = transcript;
    conv.compose = compose;
    conv.input = input;
    conv.sendBtn = sendBtn;
    conv.kbForm = kbForm;
    conv.kbInput = kbInput;
    conv.kbButton = kbButton;
    conv.kbState = kbState;
    conv.kbResults = kbResults;
    conv.releaseBtn = releaseBtn;
    conv.resolveBtn = resolveBtn;
    conv.closeBtn = closeBtn;
    conv.resolveForm = resolveForm;
    conv.note = note;
    conv.noteErr = noteErr;
    conv.confirmBtn = confirmBtn;
    conv.typing = typing;
    conv.canned = canned;
    conv.cannedState = cannedState;
    conv.cannedItems = [];
    conv.cannedActive = -1;
    conv.notesList = notesList;
    conv.noteInput = internal;
    conv.noteSave = internalBtn;
    conv.typingSentAt = 0;
    conv.typingOn = false;

    state.conversations.set(session, conv);
    els.conversations.appendChild(section);
    updateConversationsUi();
    return conv;
  }

  function renderTicket(conv, ticket) {
    conv.ticket = ticket || conv.ticket || {};
    var t = conv.ticket;
    var fields = t.fields && typeof t.fields === "object" ? t.fields : {};
    var name = str(fields.nombre).trim();
    conv.title.textContent = ticketLabel(t) + (name ? " · " + name : "");
    conv.el.setAttribute("data-ticket", str(t.id));
    conv.transcript.setAttribute("aria-label", "Conversación del " + caseRef(t));

    while (conv.badges.firstChild) {
      conv.badges.removeChild(conv.badges.firstChild);
    }
    var high = t.priority === "alta";
    conv.el.classList.toggle("priority-alta", high);
    if (high) {
      conv.badges.appendChild(el("span", "badge badge-alta", "Prioridad alta"));
    }
    if (t.status) {
      conv.badges.appendChild(el("span", "badge badge-status", STATUS_LABELS[t.status] || str(t.status)));
    }
    if (t.id) {
      // The case page (whole history, reply after the user leaves) in a new tab.
      var page = el("a", "case-page-link", "Página del caso");
      page.href = "/agent/tickets/" + encodeURIComponent(str(t.id));
      page.target = "_blank";
      page.rel = "noopener";
      page.appendChild(el("span", "visually-hidden", " " + str(t.id) + " (se abre en una pestaña nueva)"));
      conv.badges.appendChild(page);
    }
    conv.due.textContent = t.due ? "Fecha límite: " + dayText(t.due) : "";

    while (conv.dl.firstChild) {
      conv.dl.removeChild(conv.dl.firstChild);
    }
    var shown = Object.create(null);
    function addField(key, value) {
      var text = str(value).trim();
      shown[key] = true;
      if (!text) {
        return;
      }
      var dt = el("dt", null, fieldLabel(key));
      var dd = el("dd", null, fieldValue(key, text));
      dd.setAttribute("data-field", key);
      conv.dl.appendChild(dt);
      conv.dl.appendChild(dd);
    }
    FIELD_LABELS.forEach(function (pair) {
      if (Object.prototype.hasOwnProperty.call(fields, pair[0])) {
        addField(pair[0], fields[pair[0]]);
      }
    });
    Object.keys(fields)
      .sort()
      .forEach(function (key) {
        if (!shown[key]) {
          addField(key, fields[key]);
        }
      });
    if (t.created_at) {
      var created = parseTime(t.created_at);
      addField("creado", created ? fullDate(created) : t.created_at);
    }
    if (!conv.dl.firstChild) {
      conv.dl.appendChild(el("dt", null, "Datos"));
      conv.dl.appendChild(el("dd", "muted", "El usuario no registró datos."));
    }
  }

  function messageNode(reply) {
    var from = AUTHORS.hasOwnProperty(reply.from) ? reply.from : "system";
    var kind = safeToken(reply.kind);
    var node = el("div", "msg msg-" + from + (kind ? " kind-" + kind : ""));
    var seq = Number(reply.seq);
    if (isFinite(seq)) {
      node.setAttribute("data-seq", String(seq));
    }
    var own = from === "agent" && (!reply.agent_name || isMe(str(reply.agent_name)));
    if (from === "agent") {
      node.classList.add(own ? "is-own" : "is-other");
    }

    var author = AUTHORS[from];
    if (from === "agent") {
      author = own ? "Usted" : str(reply.agent_name) || "Asesor";
      if (own && reply.agent_name) {
        author = "Usted (" + str(reply.agent_name) + ")";
      }
    }
    var meta = el("p", "msg-meta");
    meta.appendChild(el("span", "msg-author", author));
    var when = parseTime(reply.ts);
    if (when) {
      meta.appendChild(document.createTextNode(" · "));
      var time = el("time", "msg-time", hhmm(when));
      time.setAttribute("datetime", str(reply.ts));
      time.title = fullDate(when);
      meta.appendChild(time);
    }
    node.appendChild(meta);

    var text = str(reply.text);
    var rendered = from !== "user" && typeof reply.html === "string" && reply.html.trim() ? richText(reply.html) : null;
    if (rendered) {
      // What the user sees: the server's sanitised Markdown.
      rendered.className = "msg-text is-html";
      node.appendChild(rendered);
    } else {
      if (from === "bot" || from === "system") {
        // Bot wording is Markdown; show it as plain text without the ** marks.
        text = text.replace(/\*\*([^*\n]+)\*\*/g, "$1");
      }
      node.appendChild(el("div", "msg-text", text));
    }

    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      var labels = reply.buttons
        .map(function (b) {
          return b && b.label ? str(b.label) : "";
        })
        .filter(Boolean);
      if (labels.length) {
        node.appendChild(el("p", "msg-buttons", "Opciones ofrecidas: " + labels.join(" · ")));
      }
    }
    return node;
  }

  /* The server's sanitised HTML rebuilt element by element from an inert
   * document: only these tags, only http(s) or relative links, text as text.
   * (This file still never assigns innerHTML.) */
  var RICH_TAGS = {
    P: 1, BR: 1, STRONG: 1, B: 1, EM: 1, I: 1, UL: 1, OL: 1, LI: 1, CODE: 1, PRE: 1,
    BLOCKQUOTE: 1, A: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, DEL: 1,
    TABLE: 1, THEAD: 1, TBODY: 1, TR: 1, TH: 1, TD: 1
  };

  function richText(html) {
    if (typeof window.DOMParser !== "function") {
      return null;
    }
    var doc;
    try {
      doc = new window.DOMParser().parseFromString(html, "text/html");
    } catch (e) {
      return null;
    }
    var out = el("div");
    (function copy(from, to) {
      for (var n = from.firstChild; n; n = n.nextSibling) {
        if (n.nodeType === 3) {
          to.appendChild(document.createTextNode(n.nodeValue));
        } else if (n.nodeType === 1) {
          var tag = n.tagName.toUpperCase();
          if (!RICH_TAGS[tag]) {
            copy(n, to);
            continue;
          }
          // Headings inside a message read as bold lines.
          var made = document.createElement(/^H[1-6]$/.test(tag) ? "strong" : tag.toLowerCase());
          if (tag === "A") {
            var href = n.getAttribute("href") || "";
            if (/^(https?:\/\/|\/(?!\/))/i.test(href)) {
              made.setAttribute("href", href);
              made.setAttribute("target", "_blank");
              made.setAttribute("rel", "noopener noreferrer");
            }
          }
          copy(n, made);
          to.appendChild(made);
          if (/^H[1-6]$/.test(tag)) {
            to.appendChild(document.createElement("br"));
          }
        }
      }
    })(doc.body, out);
    return out;
  }

  function appendReply(conv, reply, forceScroll) {
    if (!reply || typeof reply !== "object") {
      return;
    }
    var seq = Number(reply.seq);
    var hasSeq = reply.seq !== undefined && reply.seq !== null && isFinite(seq);
    if (hasSeq) {
      if (conv.seqs[seq]) {
        return;
      }
      conv.seqs[seq] = true;
    }
    var box = conv.transcript;
    var nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
    var node = messageNode(reply);
    var before = null;
    if (hasSeq) {
      var children = box.children;
      for (var i = children.length - 1; i >= 0; i--) {
        var other = Number(children[i].getAttribute("data-seq"));
        if (isFinite(other) && other < seq) {
          break;
        }
        if (isFinite(other) && other > seq) {
          before = children[i];
        }
      }
    }
    box.insertBefore(node, before);
    if (forceScroll || nearBottom || (reply.from === "agent" && node.classList.contains("is-own"))) {
      box.scrollTop = box.scrollHeight;
    }
  }

  function onClaimed(frame) {
    var session = str(frame.session);
    if (!session) {
      return;
    }
    var wasPending = !!state.pendingClaims[session];
    delete state.pendingClaims[session];
    var conv = state.conversations.get(session);
    var isNew = !conv;
    if (!conv) {
      conv = createConversation(session);
    }
    conv.awaitingReclaim = false;
    if (conv.stale) {
      unmarkStale(conv);
    }
    renderTicket(conv, frame.ticket);
    var history = Array.isArray(frame.history) ? frame.history.slice() : [];
    history.sort(function (a, b) {
      return Number(a && a.seq) - Number(b && b.seq);
    });
    history.forEach(function (reply) {
      appendReply(conv, reply, false);
    });
    while (conv.notesList.firstChild) {
      conv.notesList.removeChild(conv.notesList.firstChild);
    }
    (Array.isArray(frame.notes) ? frame.notes : []).forEach(function (note) {
      addNote(conv, note);
    });
    conv.transcript.scrollTop = conv.transcript.scrollHeight;
    setBusy(conv, false);
    renderQueue();
    if (wasPending) {
      showNotice("Tomó el " + caseRef(conv.ticket) + ". El usuario ya puede escribirle.");
      focusConversation(conv);
    } else if (isNew) {
      showNotice("Se recuperó la conversación del " + caseRef(conv.ticket) + ".");
    }
  }

  function focusConversation(conv) {
    if (typeof conv.el.scrollIntoView === "function") {
      try {
        conv.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
      } catch (e) {
        conv.el.scrollIntoView();
      }
    }
    if (!conv.input.disabled) {
      conv.input.focus();
    } else {
      conv.el.focus();
    }
  }

  function onMessage(frame) {
    var conv = state.conversations.get(str(frame.session));
    if (!conv) {
      return;
    }
    var fresh = frame.reply && !conv.seqs[Number(frame.reply.seq)];
    appendReply(conv, frame.reply, false);
    if (fresh && frame.reply.from === "user") {
      setTyping(conv, false);
      attention("El usuario del " + caseRef(conv.ticket) + " escribió", str(frame.reply.text).slice(0, 140), "msg-" + conv.session);
    }
  }

  /* ------------------------------------------------------ internal notes */

  function addNote(conv, note) {
    if (!note || typeof note !== "object") {
      return;
    }
    var key = str(note.ts) + "|" + str(note.text);
    var items = conv.notesList.children;
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-key") === key) {
        return;
      }
    }
    var li = el("li", "note");
    li.setAttribute("data-key", key);
    var meta = el("p", "msg-meta");
    meta.appendChild(el("span", "msg-author", str(note.agent) || "Asesor"));
    var when = parseTime(note.ts);
    if (when) {
      meta.appendChild(document.createTextNode(" · "));
      var time = el("time", "msg-time", fullDate(when));
      time.setAttribute("datetime", str(note.ts));
      meta.appendChild(time);
    }
    li.appendChild(meta);
    li.appendChild(el("p", "note-text", str(note.text)));
    conv.notesList.appendChild(li);
  }

  function onNote(frame) {
    var conv = state.conversations.get(str(frame.session));
    if (conv) {
      addNote(conv, frame);
    }
  }

  function saveNote(conv) {
    if (sendTyped(conv, conv.noteInput, "note", "Escriba la nota interna antes de guardarla.")) {
      showNotice("Nota interna guardada en el " + caseRef(conv.ticket) + ". El usuario no la ve.");
    }
  }

  /* ---------------------------------------------------- typing indicators */

  function setTyping(conv, on) {
    var text = on ? "El usuario está escribiendo…" : "";
    // Only a change is written, so a screen reader hears it once.
    if (conv.typing.textContent !== text) {
      conv.typing.textContent = text;
    }
  }

  function onTyping(frame) {
    var conv = state.conversations.get(str(frame.session));
    if (conv && frame.from === "user") {
      setTyping(conv, frame.on === true);
    }
  }

  /* Tells the user the agent is typing: at most once a second, and "off"
   * after a few seconds without keys, on sending or on an empty box. */
  function agentTyping(conv) {
    if (conv.stale || !state.connected) {
      return;
    }
    var typing = conv.input.value.trim() !== "" && conv.input.value.charAt(0) !== "/";
    clearTimeout(conv.typingTimer);
    if (!typing) {
      stopTyping(conv);
      return;
    }
    var now = Date.now();
    if (!conv.typingOn || now - conv.typingSentAt >= TYPING_EVERY_MS) {
      if (state.ws && state.ws.readyState === 1) {
        state.ws.send(JSON.stringify({ type: "typing", session: conv.session, on: true }));
      }
      conv.typingOn = true;
      conv.typingSentAt = now;
    }
    conv.typingTimer = setTimeout(function () {
      stopTyping(conv);
    }, TYPING_IDLE_MS);
  }

  function stopTyping(conv) {
    clearTimeout(conv.typingTimer);
    if (!conv.typingOn) {
      return;
    }
    conv.typingOn = false;
    if (state.ws && state.ws.readyState === 1 && state.conversations.get(conv.session) === conv) {
      state.ws.send(JSON.stringify({ type: "typing", session: conv.session, on: false }));
    }
  }

  /* --------------------------------------------------- canned responses */

  function cannedQuery(conv) {
    var value = conv.input.value;
    if (value.charAt(0) !== "/" || value.indexOf("\n") !== -1) {
      closeCanned(conv);
      return;
    }
    var query = value.slice(1).trim();
    clearTimeout(conv.cannedTimer);
    conv.cannedTimer = setTimeout(function () {
      conv.cannedAsked = query;
      send({ type: "canned", query: query });
    }, 120);
  }

  function onCannedResults(frame) {
    var query = str(frame.query);
    state.conversations.forEach(function (conv) {
      if (conv.cannedAsked === query && conv.input.value.charAt(0) === "/") {
        renderCanned(conv, Array.isArray(frame.items) ? frame.items : []);
      }
    });
  }

  function renderCanned(conv, items) {
    var list = conv.canned;
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    conv.cannedItems = items.filter(function (item) {
      return item && typeof item.text === "string";
    });
    conv.cannedActive = conv.cannedItems.length ? 0 : -1;
    conv.cannedItems.forEach(function (item, index) {
      var li = el("li", "canned-option", str(item.title) || str(item.id));
      li.id = conv.canned.id + "-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("data-index", String(index));
      list.appendChild(li);
    });
    list.hidden = !conv.cannedItems.length;
    conv.cannedState.textContent = conv.cannedItems.length
      ? conv.cannedItems.length + (conv.cannedItems.length === 1 ? " respuesta guardada" : " respuestas guardadas") + ". Flechas para elegir, Enter para usarla, Escape para cerrar."
      : "No hay respuestas guardadas con ese título.";
    highlightCanned(conv);
  }

  function highlightCanned(conv) {
    var options = conv.canned.children;
    for (var i = 0; i < options.length; i++) {
      var on = i === conv.cannedActive;
      options[i].setAttribute("aria-selected", on ? "true" : "false");
      options[i].classList.toggle("is-active", on);
    }
    if (conv.cannedActive >= 0 && options[conv.cannedActive]) {
      conv.input.setAttribute("aria-activedescendant", options[conv.cannedActive].id);
      if (typeof options[conv.cannedActive].scrollIntoView === "function") {
        options[conv.cannedActive].scrollIntoView({ block: "nearest" });
      }
    } else {
      conv.input.removeAttribute("aria-activedescendant");
    }
  }

  function closeCanned(conv) {
    clearTimeout(conv.cannedTimer);
    conv.cannedAsked = null;
    conv.cannedItems = [];
    conv.cannedActive = -1;
    conv.canned.hidden = true;
    while (conv.canned.firstChild) {
      conv.canned.removeChild(conv.canned.firstChild);
    }
    conv.input.removeAttribute("aria-activedescendant");
  }

  function chooseCanned(conv, index) {
    var item = conv.cannedItems[index];
    if (!item) {
      return;
    }
    closeCanned(conv);
    conv.input.value = str(item.text).trim();
    conv.cannedState.textContent = "Respuesta «" + str(item.title) + "» en el cuadro de mensaje: revísela antes de enviar.";
    conv.input.focus();
    try {
      conv.input.setSelectionRange(conv.input.value.length, conv.input.value.length);
    } catch (e) {
      /* ignore */
    }
  }

  /* Arrow keys, Enter and Escape while the list is open; true when handled. */
  function cannedKey(conv, event) {
    if (conv.canned.hidden || !conv.cannedItems.length) {
      return false;
    }
    var n = conv.cannedItems.length;
    if (event.key === "ArrowDown") {
      conv.cannedActive = (conv.cannedActive + 1) % n;
    } else if (event.key === "ArrowUp") {
      conv.cannedActive = (conv.cannedActive - 1 + n) % n;
    } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      chooseCanned(conv, conv.cannedActive < 0 ? 0 : conv.cannedActive);
      return true;
    } else if (event.key === "Escape") {
      closeCanned(conv);
      conv.cannedState.textContent = "Lista de respuestas guardadas cerrada.";
      return true;
    } else {
      return false;
    }
    highlightCanned(conv);
    return true;
  }

  /* ------------------------------------------------------- notifications */

  var attentionState = { unread: 0, audio: null };

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "1";
    } catch (e) {
      return false;
    }
  }

  function renderSoundToggle() {
    var button = document.getElementById("sound-toggle");
    if (!button) {
      return;
    }
    var on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Sonido: sí" : "Sonido: no";
  }

  /* A short beep made with WebAudio (no sound file to download). */
  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) {
      return;
    }
    try {
      attentionState.audio = attentionState.audio || new Ctx();
      var ctx = attentionState.audio;
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
      attentionState.beeps = (attentionState.beeps || 0) + 1;
    } catch (e) {
      /* no sound is better than a broken console */
    }
  }

  function renderNotifyToggle() {
    var button = document.getElementById("notify-toggle");
    if (!button) {
      return;
    }
    var asked = false;
    try {
      asked = window.localStorage.getItem(NOTIFY_ASKED_KEY) === "1";
    } catch (e) {
      asked = false;
    }
    var N = window.Notification;
    button.hidden = !N || asked || N.permission !== "default";
  }

  function renderTitle(waiting) {
    if (typeof waiting === "number") {
      attentionState.waiting = waiting;
    }
    var unread = attentionState.unread;
    var prefix = unread > 0 ? "(" + unread + " sin leer) " : attentionState.waiting > 0 ? "(" + attentionState.waiting + ") " : "";
    document.title = prefix + baseTitle;
  }

  /* Something needs the agent: a case entered the queue or a held user wrote.
   * While the tab is hidden it counts as unread (tab title), and it may beep
   * and show a desktop notification. */
  function attention(title, body, tag) {
    if (!document.hidden) {
      return;
    }
    attentionState.unread += 1;
    renderTitle();
    if (soundOn()) {
      beep();
    }
    var N = window.Notification;
    if (N && N.permission === "granted") {
      try {
        var n = new N(title, { body: body, tag: tag, lang: "es-CO" });
        n.onclick = function () {
          window.focus();
          if (typeof n.close === "function") {
            n.close();
          }
        };
      } catch (e) {
        /* some browsers only notify from a service worker */
      }
    }
  }

  function onClosed(frame, how) {
    var session = str(frame.session);
    var conv = state.conversations.get(session);
    var ticket = (frame.ticket && frame.ticket.id ? frame.ticket : null) || (conv && conv.ticket) || {};
    var label = ticketLabel(ticket);
    if (how === "resolved") {
      showNotice(label + " resuelto. Se le avisó al usuario.");
    } else {
      showNotice(label + " devuelto al asistente virtual.");
    }
    if (conv) {
      removeConversation(conv);
    }
  }

  function removeConversation(conv) {
    // A disabled button (hand-back, resolve) drops focus to the body: that
    // focus was in this panel too.
    var active = document.activeElement;
    var hadFocus = conv.el.contains(active) || ((!active || active === document.body) && conv.actedHere);
    clearTimeout(conv.typingTimer);
    closeCanned(conv);
    state.conversations.delete(conv.session);
    state.searches = state.searches.filter(function (s) {
      return s.session !== conv.session;
    });
    if (conv.el.parentNode) {
      conv.el.parentNode.removeChild(conv.el);
    }
    updateConversationsUi();
    if (hadFocus) {
      var next = null;
      state.conversations.forEach(function (c) {
        if (!next && !c.stale) {
          next = c;
        }
      });
      var claimable = els.queue ? els.queue.querySelector("button.claim:not(:disabled)") : null;
      if (next) {
        next.input.focus();
      } else if (claimable) {
        claimable.focus();
      } else if (els.conversationsRegion) {
        els.conversationsRegion.focus();
      }
    }
  }

  function setBusy(conv, busy) {
    conv.busy = busy;
    var off = busy || conv.stale;
    conv.releaseBtn.disabled = off;
    conv.resolveBtn.disabled = off;
    conv.confirmBtn.disabled = off;
    conv.el.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function setPanelsBusy(busy) {
    state.conversations.forEach(function (conv) {
      setBusy(conv, busy);
    });
  }

  function markStale(conv) {
    conv.stale = true;
    conv.awaitingReclaim = false;
    conv.el.classList.add("is-stale");
    conv.staleNote.textContent = "Esta conversación ya no está a su cargo (la conexión se perdió por mucho tiempo o la tomó otra persona).";
    conv.staleNote.hidden = false;
    conv.input.disabled = true;
    conv.sendBtn.disabled = true;
    conv.kbInput.disabled = true;
    conv.kbButton.disabled = true;
    conv.noteInput.disabled = true;
    conv.noteSave.disabled = true;
    closeCanned(conv);
    setTyping(conv, false);
    conv.resolveForm.hidden = true;
    conv.resolveBtn.setAttribute("aria-expanded", "false");
    conv.closeBtn.hidden = false;
    setBusy(conv, false);
  }

  function unmarkStale(conv) {
    conv.stale = false;
    conv.el.classList.remove("is-stale");
    conv.staleNote.hidden = true;
    conv.staleNote.textContent = "";
    conv.input.disabled = false;
    conv.sendBtn.disabled = false;
    conv.kbInput.disabled = false;
    conv.kbButton.disabled = false;
    conv.noteInput.disabled = false;
    conv.noteSave.disabled = false;
    conv.closeBtn.hidden = true;
    setBusy(conv, false);
  }

  /* ------------------------------------------------------------ actions */

  /* Sends the text typed in `input` as a `type` frame of the conversation;
     an empty box gets `emptyMessage` instead. True when sent (the box is cleared). */
  function sendTyped(conv, input, type, emptyMessage) {
    if (conv.stale) {
      return false;
    }
    var text = input.value.trim();
    if (!text) {
      showAlert(emptyMessage);
      input.focus();
      return false;
    }
    if (!send({ type: type, session: conv.session, text: text })) {
      return false;
    }
    clearAlert();
    input.value = "";
    return true;
  }

  function say(conv) {
    if (sendTyped(conv, conv.input, "say", "Escriba un mensaje antes de enviar.")) {
      stopTyping(conv);
      conv.input.focus();
    }
  }

  function release(conv) {
    if (conv.stale || conv.busy) {
      return;
    }
    if (send({ type: "release", session: conv.session })) {
      conv.actedHere = true;
      stopTyping(conv);
      setBusy(conv, true);
    }
  }

  function openResolve(conv) {
    if (conv.stale) {
      return;
    }
    var show = conv.resolveForm.hidden;
    conv.resolveForm.hidden = !show;
    conv.resolveBtn.setAttribute("aria-expanded", show ? "true" : "false");
    if (show) {
      conv.note.focus();
    } else {
      conv.resolveBtn.focus();
    }
  }

  function cancelResolve(conv) {
    conv.resolveForm.hidden = true;
    conv.resolveBtn.setAttribute("aria-expanded", "false");
    conv.note.removeAttribute("aria-invalid");
    conv.noteErr.textContent = NOTE_HINT;
    conv.noteErr.classList.remove("is-error");
    conv.resolveBtn.focus();
  }

  function confirmResolve(conv) {
    if (conv.stale || conv.busy) {
      return;
    }
    var note = conv.note.value.trim();
    if (!note) {
      conv.note.setAttribute("aria-invalid", "true");
      conv.noteErr.textContent = "La nota de resolución es obligatoria.";
      conv.noteErr.classList.add("is-error");
      showAlert("Escriba la nota de resolución antes de confirmar.");
      conv.note.focus();
      return;
    }
    conv.note.removeAttribute("aria-invalid");
    conv.noteErr.classList.remove("is-error");
    if (send({ type: "resolve", session: conv.session, note: note })) {
      clearAlert();
      conv.actedHere = true;
      stopTyping(conv);
      setBusy(conv, true);
    }
  }

  /* ---------------------------------------------------- knowledge search */

  function search(conv) {
    if (conv.stale) {
      return;
    }
    var query = conv.kbInput.value.trim();
    if (!query) {
      conv.kbState.textContent = "Escriba qué desea buscar.";
      conv.kbInput.focus();
      return;
    }
    if (send({ type: "search", query: query, session: conv.session })) {
      state.searches.push({ query: query, session: conv.session });
      if (state.searches.length > 20) {
        state.searches.shift();
      }
      conv.kbState.textContent = "Buscando…";
    }
  }

  function onSearchResults(frame) {
    var query = str(frame.query);
    // The server echoes the panel's session: no guessing which panel asked.
    if (frame.session && state.conversations.get(str(frame.session))) {
      state.searches = state.searches.filter(function (x) {
        return !(x.session === str(frame.session) && x.query === query);
      });
      renderResults(state.conversations.get(str(frame.session)), query, Array.isArray(frame.items) ? frame.items : []);
      return;
    }
    var target = null;
    for (var i = 0; i < state.searches.length; i++) {
      if (state.searches[i].query === query) {
        target = state.searches.splice(i, 1)[0];
        break;
      }
    }
    // The server may trim the query; fall back to the oldest pending search.
    if (!target && state.searches.length) {
      target = state.searches.shift();
    }
    var conv = target ? state.conversations.get(target.session) : null;
    if (!conv) {
      return;
    }
    renderResults(conv, query, Array.isArray(frame.items) ? frame.items : []);
  }

  function renderResults(conv, query, items) {
    var list = conv.kbResults;
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    conv.results = [];
    if (!items.length) {
      conv.kbState.textContent = "No se encontraron artículos para «" + query + "».";
      return;
    }
    conv.kbState.textContent =
      items.length === 1 ? "1 artículo encontrado para «" + query + "»." : items.length + " artículos encontrados para «" + query + "».";
    items.forEach(function (item, index) {
      if (!item) {
        return;
      }
      var text = str(item.text);
      conv.results[index] = text;
      var li = el("li", "kb-result");
      li.setAttribute("data-id", str(item.id));
      var titleId = nextId("kb-title");
      var title = el("p", "kb-title", str(item.title) || str(item.id));
      title.id = titleId;
      li.appendChild(title);
      var excerpt = text.replace(/\s+/g, " ").trim();
      if (excerpt.length > EXCERPT_CHARS) {
        excerpt = excerpt.slice(0, EXCERPT_CHARS - 1).trim() + "…";
      }
      li.appendChild(el("p", "kb-excerpt", excerpt));
      var insert = el("button", "btn btn-secondary btn-small kb-insert", "Insertar");
      insert.type = "button";
      insert.setAttribute("data-index", String(index));
      insert.setAttribute("aria-describedby", titleId);
      li.appendChild(insert);
      list.appendChild(li);
    });
  }

  function insertResult(conv, index) {
    var text = conv.results ? conv.results[index] : null;
    if (typeof text !== "string" || conv.stale) {
      return;
    }
    var input = conv.input;
    var current = input.value.replace(/\s+$/, "");
    input.value = current ? current + "\n\n" + text.trim() : text.trim();
    input.focus();
    try {
      input.setSelectionRange(input.value.length, input.value.length);
    } catch (e) {
      /* some inputs do not support selection */
    }
    input.scrollTop = input.scrollHeight;
  }

  /* ------------------------------------------------------------- events */

  function conversationOf(node) {
    var section = node && node.closest ? node.closest(".conversation[data-session]") : null;
    return section ? state.conversations.get(section.getAttribute("data-session")) : null;
  }

  if (els.queue) {
    els.queue.addEventListener("click", function (event) {
      var button = event.target.closest("button.claim");
      if (!button || button.disabled || !els.queue.contains(button)) {
        return;
      }
      claim(button.getAttribute("data-session"));
    });
  }

  if (els.conversations) {
    els.conversations.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest(".canned-option") : null;
      if (option) {
        var owner = conversationOf(option);
        if (owner) {
          chooseCanned(owner, Number(option.getAttribute("data-index")));
        }
        return;
      }
      var button = event.target.closest("button");
      if (!button || button.disabled) {
        return;
      }
      var conv = conversationOf(button);
      if (!conv) {
        return;
      }
      if (button.classList.contains("release")) {
        release(conv);
      } else if (button.classList.contains("resolve")) {
        openResolve(conv);
      } else if (button.classList.contains("resolve-cancel")) {
        cancelResolve(conv);
      } else if (button.classList.contains("kb-insert")) {
        insertResult(conv, Number(button.getAttribute("data-index")));
      } else if (button.classList.contains("conv-close")) {
        removeConversation(conv);
      }
    });

    els.conversations.addEventListener("submit", function (event) {
      var form = event.target;
      var conv = conversationOf(form);
      event.preventDefault();
      if (!conv) {
        return;
      }
      if (form.classList.contains("compose")) {
        say(conv);
      } else if (form.classList.contains("resolve-form")) {
        confirmResolve(conv);
      } else if (form.classList.contains("kb-form")) {
        search(conv);
      } else if (form.classList.contains("note-form")) {
        saveNote(conv);
      }
    });

    els.conversations.addEventListener("keydown", function (event) {
      var target = event.target;
      if (!target || !target.classList) {
        return;
      }
      var conv = conversationOf(target);
      if (!conv) {
        return;
      }
      var ctrlEnter = event.key === "Enter" && (event.ctrlKey || event.metaKey);
      if (target.classList.contains("agent-input") && cannedKey(conv, event)) {
        event.preventDefault();
      } else if (ctrlEnter && target.classList.contains("agent-input")) {
        event.preventDefault();
        say(conv);
      } else if (ctrlEnter && target.classList.contains("resolve-note")) {
        event.preventDefault();
        confirmResolve(conv);
      } else if (event.key === "Escape" && conv.resolveForm.contains(target)) {
        event.preventDefault();
        cancelResolve(conv);
      }
    });

    els.conversations.addEventListener("input", function (event) {
      var target = event.target;
      if (target && target.classList && target.classList.contains("agent-input")) {
        var owner = conversationOf(target);
        if (owner) {
          cannedQuery(owner);
          agentTyping(owner);
        }
      }
      if (target && target.classList && target.classList.contains("resolve-note") && target.value.trim()) {
        var conv = conversationOf(target);
        if (conv && target.getAttribute("aria-invalid")) {
          target.removeAttribute("aria-invalid");
          conv.noteErr.textContent = NOTE_HINT;
          conv.noteErr.classList.remove("is-error");
        }
      }
    });
  }

  if (els.retry) {
    els.retry.addEventListener("click", reconnectNow);
  }

  window.addEventListener("online", function () {
    if (!state.connected) {
      reconnectNow();
    }
  });

  var soundToggle = document.getElementById("sound-toggle");
  if (soundToggle) {
    soundToggle.addEventListener("click", function () {
      var on = !soundOn();
      try {
        window.localStorage.setItem(SOUND_KEY, on ? "1" : "0");
      } catch (e) {
        /* private mode: the choice lasts this page only */
      }
      renderSoundToggle();
      if (on) {
        beep(); // a sample, and browsers only allow audio after a gesture
      }
    });
  }

  var notifyToggle = document.getElementById("notify-toggle");
  if (notifyToggle) {
    // Asked once, from this click: the browser remembers the answer.
    notifyToggle.addEventListener("click", function () {
      try {
        window.localStorage.setItem(NOTIFY_ASKED_KEY, "1");
      } catch (e) {
        /* ignore */
      }
      var N = window.Notification;
      var done = function () {
        renderNotifyToggle();
        showNotice(N && N.permission === "granted" ? "Avisos del escritorio activados." : "Los avisos del escritorio no están permitidos en este navegador.");
      };
      if (N && typeof N.requestPermission === "function") {
        var asked = N.requestPermission(done);
        if (asked && typeof asked.then === "function") {
          asked.then(done, done);
        }
      } else {
        done();
      }
      notifyToggle.hidden = true;
      if (els.conversationsRegion) {
        els.conversationsRegion.focus();
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && attentionState.unread) {
      attentionState.unread = 0;
      renderTitle();
    }
    if (document.visibilityState === "visible" && !state.connected && !state.ws) {
      reconnectNow();
    }
  });

  setInterval(updateWaits, WAIT_TICK_MS);

  renderSoundToggle();
  renderNotifyToggle();
  updateConversationsUi();
  renderQueue();
  connect();
})();
