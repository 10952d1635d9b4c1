export function renderFooter(el) {
  const footer = document.createElement('footer');
  footer.className = 'shell-footer';
  footer.textContent = 'Shell (main) + remotes: subscriptions, checkout';
  el.appendChild(footer);
}
