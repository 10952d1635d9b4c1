import './cart.css';
import coinUrl from './assets/coin.png';
import cartUrl from './assets/cart.svg';

export function mount(el) {
  const box = document.createElement('section');
  box.className = 'checkout-cart';
  box.innerHTML =
    `<h2><img src="${cartUrl}" alt="" width="16" height="16"> Cart</h2>` +
    '<ul class="checkout-items"></ul>' +
    `<p class="checkout-total"><img src="${coinUrl}" alt="" width="12" height="12"> <span>…</span></p>`;
  el.appendChild(box);

  return Promise.all([
    import(/* webpackChunkName: "items" */ './items'),
    import(/* webpackChunkName: "totals" */ './totals'),
  ]).then(([{ ITEMS }, { total }]) => {
    const list = box.querySelector('.checkout-items');
    for (const item of ITEMS) {
      const li = document.createElement('li');
      li.textContent = `${item.qty} × ${item.name}`;
      list.appendChild(li);
    }
    box.querySelector('.checkout-total span').textContent = `Total: ${total(ITEMS)}`;
    return box;
  });
}

export default mount;
