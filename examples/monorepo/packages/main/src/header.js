import logoPng from './assets/logo.png';
import markSvg from './assets/mark.svg';

export function renderHeader(el) {
  const header = document.createElement('header');
  header.className = 'shell-header';
  header.innerHTML =
    `<img src="${logoPng}" alt="logo" width="16" height="16"> ` +
    `<img src="${markSvg}" alt="" width="16" height="16"> ` +
    '<strong>mfe-deploy example shell</strong>';
  el.appendChild(header);
}
