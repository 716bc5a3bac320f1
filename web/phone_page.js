// The SignalR phone demo page (phone.html): a SeedPhone (seed_phone.js)
// behind a few buttons. `window.phone` is the phone once connected.

import { SeedPhone } from './seed_phone.js';

const $ = (id) => document.getElementById(id);
const status = (text) => { $('phone-status').textContent = text; };
const fail = (error) => {
  $('phone-error').textContent = error.message ?? String(error);
  $('phone-error').hidden = false;
};
const guarded = (action) => () => { $('phone-error').hidden = true; action().catch(fail); };

$('phone-connect').addEventListener('click', guarded(async () => {
  const phone = new SeedPhone({ name: $('phone-name').value.trim(), email: $('phone-email').value.trim() });
  phone.on('status', status);
  phone.on('notice', (text) => status(text));
  phone.on('incoming', (call) => {
    $('phone-incoming-text').textContent = `${call.profile.name} (${call.profile.email}) is calling`;
    $('phone-incoming').hidden = false;
  });
  phone.on('remote-stream', ({ guid, stream }) => {
    let figure = document.querySelector(`figure[data-guid="${guid}"]`);
    if (!figure) {
      figure = document.createElement('figure');
      figure.dataset.guid = guid;
      figure.append(Object.assign(document.createElement('video'), { autoplay: true, playsInline: true }));
      const names = phone.phoneLine?.phoneLineConnections ?? [];
      const who = names.find((c) => c.hubConnection.connectionGuid === guid)?.hubConnection.name ?? guid.slice(0, 8);
      figure.append(Object.assign(document.createElement('figcaption'), { textContent: who }));
      $('phone-videos').append(figure);
    }
    figure.querySelector('video').srcObject = stream;
  });
  phone.on('remote-gone', (guid) => document.querySelector(`figure[data-guid="${guid}"]`)?.remove());
  phone.on('closed', (error) => status(error ? `closed: ${error.message}` : 'closed'));
  await phone.connect();
  window.phone = phone;
  $('phone-connect').disabled = true;
  $('phone-call').disabled = false;
  $('phone-hangup').disabled = false;
}));

async function showLocal() {
  $('phone-local').srcObject = window.phone.localStream;
}

$('phone-call').addEventListener('click', guarded(async () => {
  await window.phone.call($('phone-callee').value.trim());
  await showLocal();
}));
$('phone-accept').addEventListener('click', guarded(async () => {
  $('phone-incoming').hidden = true;
  await window.phone.accept();
  await showLocal();
}));
$('phone-decline').addEventListener('click', guarded(async () => {
  $('phone-incoming').hidden = true;
  await window.phone.decline();
}));
$('phone-hangup').addEventListener('click', guarded(async () => window.phone.hangUp()));
