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
    ["descripcion", "Descripción"]
  ];

  var STATUS_LABELS = {
    abierto: "Abierto",
    en_atencion: "En atención",
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

  function hhmm(date) {
    return pad2(date.getHours()) + ":" + pad2(date.getMinutes());
  }

  function fullDate(date) {
    return date.getFullYear() + "-" + pad2(date.getMonth() + 1) + "-" + pad2(date.getDate()) + " " + hhmm(date);
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
    document.title = (waiting > 0 ? "(" + waiting + ") " : "") + baseTitle;

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
    row.appendChild(input);
    var sendBtn = el("button", "btn btn-primary agent-send", "Enviar");
    sendBtn.type = "submit";
    row.appendChild(sendBtn);
    compose.appendChild(row);
    var hint = el("p", "hint", "Ctrl+Enter para enviar. El usuario ve su nombre de asesor.");
    hint.id = hintId;
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
    var noteLabel = el("label", "label", "Nota de resolución (obligatoria)");
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
    noteErr.textContent = "Describa qué se resolvió; queda en el caso.";
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
    conv.transcript.setAttribute("aria-label", "Conversación del " + ticketLabel(t).toLowerCase());

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
    conv.due.textContent = t.due ? "Fecha límite: " + str(t.due) : "";

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
      var dd = el("dd", null, text);
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
    if (from === "bot" || from === "system") {
      // Bot wording is Markdown; show it as plain text without the ** marks.
      text = text.replace(/\*\*([^*\n]+)\*\*/g, "$1");
    }
    node.appendChild(el("div", "msg-text", text));

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
    conv.transcript.scrollTop = conv.transcript.scrollHeight;
    setBusy(conv, false);
    renderQueue();
    if (wasPending) {
      showNotice("Tomó el " + ticketLabel(conv.ticket).toLowerCase() + ". El usuario ya puede escribirle.");
      focusConversation(conv);
    } else if (isNew) {
      showNotice("Se recuperó la conversación del " + ticketLabel(conv.ticket).toLowerCase() + ".");
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
    appendReply(conv, frame.reply, false);
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
    var hadFocus = conv.el.contains(document.activeElement);
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
      if (next) {
        next.input.focus();
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
    conv.closeBtn.hidden = true;
    setBusy(conv, false);
  }

  /* ------------------------------------------------------------ actions */

  function say(conv) {
    if (conv.stale) {
      return;
    }
    var text = conv.input.value.trim();
    if (!text) {
      showAlert("Escriba un mensaje antes de enviar.");
      conv.input.focus();
      return;
    }
    if (send({ type: "say", session: conv.session, text: text })) {
      clearAlert();
      conv.input.value = "";
      conv.input.focus();
    }
  }

  function release(conv) {
    if (conv.stale || conv.busy) {
      return;
    }
    if (send({ type: "release", session: conv.session })) {
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
    conv.noteErr.textContent = "Describa qué se resolvió; queda en el caso.";
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
      if (ctrlEnter && target.classList.contains("agent-input")) {
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
      if (target && target.classList && target.classList.contains("resolve-note") && target.value.trim()) {
        var conv = conversationOf(target);
        if (conv && target.getAttribute("aria-invalid")) {
          target.removeAttribute("aria-invalid");
          conv.noteErr.textContent = "Describa qué se resolvió; queda en el caso.";
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

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !state.connected && !state.ws) {
      reconnectNow();
    }
  });

  setInterval(updateWaits, WAIT_TICK_MS);

  updateConversationsUi();
  renderQueue();
  connect();
})();
