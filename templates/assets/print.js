/* secobot — the transcript page's "Imprimir" button (no inline code under the CSP). */
(function () {
  'use strict';
  const button = document.getElementById('transcript-print');
  if (!button || typeof window.print !== 'function') return;
  button.hidden = false;
  button.addEventListener('click', () => window.print());
})();
