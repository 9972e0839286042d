/*
 * secobot — embeddable launcher. On a page of an allowed site:
 *   <script src="https://ASISTENTE.example.gov.co/embed.js" defer></script>
 * adds a floating "¿Necesita ayuda?" button that opens the assistant in a panel.
 * Does nothing on sites not listed in the server's --allowed-origins (the
 * server also refuses to be framed by them). No inline styles or code: works
 * under a strict Content-Security-Policy on the host page (CSSOM only).
 */
(function () {
  'use strict';

  const ALLOWED = /*ALLOWED_ORIGINS*/[];
  const script = document.currentScript;
  if (!script || !script.src) return;
  let server;
  try { server = new URL(script.src).origin; } catch (_) { return; }
  const here = window.location.origin;
  if (here !== server && ALLOWED.indexOf(here) < 0) {
    if (window.console) window.console.warn('secobot: este sitio (' + here + ') no está autorizado para mostrar el asistente.');
    return;
  }
  if (window.secobotEmbed) return; // loaded twice
  const PRIMARY = '#0b4f8a';

  function css(node, styles) {
    Object.keys(styles).forEach((k) => { node.style[k] = styles[k]; });
    return node;
  }

  const launcher = css(document.createElement('button'), {
    position: 'fixed', right: '1rem', bottom: '1rem', zIndex: '2147483000',
    minHeight: '48px', padding: '0.75rem 1.25rem', border: '2px solid #ffffff',
    borderRadius: '999px', background: PRIMARY, color: '#ffffff',
    font: '600 1rem system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    boxShadow: '0 4px 16px rgba(0, 0, 0, 0.25)', cursor: 'pointer',
  });
  launcher.type = 'button';
  launcher.id = 'secobot-launcher';
  launcher.textContent = '¿Necesita ayuda?';
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'secobot-panel');

  const panel = css(document.createElement('div'), {
    position: 'fixed', right: '1rem', bottom: '5rem', zIndex: '2147483000',
    width: 'min(400px, calc(100vw - 2rem))', height: 'min(640px, calc(100vh - 7rem))',
    display: 'none', flexDirection: 'column', overflow: 'hidden',
    border: '1px solid #c9d3dd', borderRadius: '1rem', background: '#ffffff',
    boxShadow: '0 8px 32px rgba(0, 0, 0, 0.3)',
  });
  panel.id = 'secobot-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', 'Asistente SECOP II');

  const close = css(document.createElement('button'), {
    alignSelf: 'flex-end', minHeight: '40px', margin: '0', padding: '0.25rem 0.75rem',
    border: '0', background: PRIMARY, color: '#ffffff', width: '100%', textAlign: 'right',
    font: '600 0.875rem system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif', cursor: 'pointer',
  });
  close.type = 'button';
  close.textContent = 'Cerrar asistente ✕';

  let frame = null;

  function open() {
    if (!frame) {
      frame = css(document.createElement('iframe'), { flex: '1 1 auto', width: '100%', border: '0' });
      frame.title = 'Asistente SECOP II';
      frame.src = server + '/?embed=1';
      frame.setAttribute('allow', 'clipboard-write');
      panel.appendChild(frame);
    }
    panel.style.display = 'flex';
    launcher.setAttribute('aria-expanded', 'true');
    launcher.textContent = 'Cerrar ayuda';
    try { frame.focus(); } catch (_) { /* ignore */ }
  }

  function shut() {
    if (panel.style.display === 'none') return;
    panel.style.display = 'none';
    launcher.setAttribute('aria-expanded', 'false');
    launcher.textContent = '¿Necesita ayuda?';
    launcher.focus();
  }

  launcher.addEventListener('click', () => {
    if (launcher.getAttribute('aria-expanded') === 'true') shut(); else open();
  });
  close.addEventListener('click', shut);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && launcher.getAttribute('aria-expanded') === 'true') shut();
  });
  // Escape pressed inside the widget (another origin) arrives as a message.
  window.addEventListener('message', (e) => {
    if (e.origin !== server || !e.data || e.data.type !== 'secobot:close') return;
    shut();
  });

  panel.appendChild(close);
  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);

  window.secobotEmbed = Object.freeze({ open, close: shut });
})();
