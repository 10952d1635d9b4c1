import './shell.css';
import { renderHeader } from './header';

const app = document.getElementById('app');
renderHeader(app);

const subsSlot = document.createElement('div');
const cartSlot = document.createElement('div');
app.append(subsSlot, cartSlot);

function failed(slot, name) {
  return (err) => {
    slot.textContent = `Could not load ${name}: ${err && err.message}`;
    slot.className = 'shell-error';
  };
}

import('subscriptions/Widget')
  .then((m) => m.mount(subsSlot))
  .catch(failed(subsSlot, 'subscriptions'));

import('checkout/Cart')
  .then((m) => m.mount(cartSlot))
  .catch(failed(cartSlot, 'checkout'));

import(/* webpackChunkName: "footer" */ './footer').then((m) => m.renderFooter(app));
