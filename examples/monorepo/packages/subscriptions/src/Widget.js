import './widget.css';
import badgeUrl from './assets/badge.png';
import iconUrl from './assets/icon.svg';

export function mount(el) {
  const box = document.createElement('section');
  box.className = 'subs-widget';
  box.innerHTML =
    `<h2><img src="${iconUrl}" alt="" width="16" height="16"> Subscriptions ` +
    `<img src="${badgeUrl}" alt="badge" width="12" height="12"></h2>` +
    '<ul class="subs-plans"><li>Loading plans…</li></ul>';
  el.appendChild(box);

  return import(/* webpackChunkName: "plans" */ './plans').then(({ listPlans }) => {
    const list = box.querySelector('.subs-plans');
    list.innerHTML = '';
    for (const line of listPlans()) {
      const li = document.createElement('li');
      li.textContent = line;
      list.appendChild(li);
    }
    return box;
  });
}

export default mount;
