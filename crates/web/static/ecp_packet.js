// «Отправить на ООС» with a signed packet, when the sender's organization requires it: lists the
// user's certificates through «КриптоПро ЭЦП Browser plug-in» (as ecp.js does for sign-in), and
// on «ОК» asks the server for the bytes of the packet's `data` that would go now, signs them as
// a detached CAdES-BES and sends the dialog's form with the signature. The server checks it over
// the packet it queues; a packet that changed meanwhile is refused with «подпишите заново».
(function () {
  'use strict';
  var root = document.getElementById('ecp-packet');
  if (!root) return;
  var form = root.closest('form');
  var status = document.getElementById('ecp-status');
  var select = document.getElementById('ecp-certificate');
  var retry = document.getElementById('ecp-retry');
  var signatureField = document.getElementById('ecp-signature');
  var ok = document.getElementById('send-ok');
  var certificates = [];

  // CAPICOM and CAdESCOM constants (CryptoPro's documentation), as in ecp.js.
  var CURRENT_USER_STORE = 2, MY_STORE = 'My', OPEN_MAXIMUM_ALLOWED = 2;
  var FIND_TIME_VALID = 9, FIND_EXTENDED_PROPERTY = 6, PROPID_KEY_PROV_INFO = 2;
  var INCLUDE_CHAIN_EXCEPT_ROOT = 0, CADES_BES = 1, BASE64_TO_BINARY = 1;

  var ABSENT = 'Плагин для электронной подписи не найден. Организация требует подписывать пакеты для ЕИС: ' +
    'установите КриптоПро CSP и «КриптоПро ЭЦП Browser plug-in» (https://www.cryptopro.ru/products/cades/plugin), ' +
    'включите расширение плагина в браузере и обновите страницу.';

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? 'alert ecp-status' : 'hint ecp-status';
  }

  function message(e) {
    var plugin = window.cadesplugin;
    if (plugin && typeof plugin.getLastError === 'function') {
      try { return plugin.getLastError(e); } catch (ignored) { /* the message below */ }
    }
    return (e && e.message) ? e.message : String(e);
  }

  function commonName(subject) {
    var match = /(?:^|,\s*)CN=("[^"]*"|[^,]*)/.exec(subject || '');
    return match ? match[1].replace(/^"|"$/g, '') : (subject || '');
  }

  function day(value) {
    var d = new Date(value);
    if (isNaN(d.getTime())) return String(value);
    return ('0' + d.getDate()).slice(-2) + '.' + ('0' + (d.getMonth() + 1)).slice(-2) + '.' + d.getFullYear();
  }

  async function readCertificates(plugin) {
    var store = await plugin.CreateObjectAsync('CAdESCOM.Store');
    await store.Open(CURRENT_USER_STORE, MY_STORE, OPEN_MAXIMUM_ALLOWED);
    try {
      var all = await store.Certificates;
      var valid = await all.Find(FIND_TIME_VALID);
      var withKey = await valid.Find(FIND_EXTENDED_PROPERTY, PROPID_KEY_PROV_INFO);
      var count = await withKey.Count;
      var found = [];
      for (var i = 1; i <= count; i++) {
        var cert = await withKey.Item(i);
        found.push({
          cert: cert,
          owner: commonName(await cert.SubjectName),
          issuer: commonName(await cert.IssuerName),
          from: await cert.ValidFromDate,
          to: await cert.ValidToDate
        });
      }
      return found;
    } finally {
      await store.Close();
    }
  }

  async function init() {
    retry.hidden = true;
    select.hidden = true;
    ok.disabled = true;
    var plugin = window.cadesplugin;
    if (!plugin || typeof plugin.then !== 'function') {
      say(ABSENT, true);
      retry.hidden = false;
      return;
    }
    say('Ищем плагин и ваши сертификаты…', false);
    try {
      await plugin;
      if (typeof plugin.CreateObjectAsync !== 'function') throw new Error('этот браузер не поддерживается плагином');
      certificates = await readCertificates(plugin);
    } catch (e) {
      say(ABSENT + ' (' + message(e) + ')', true);
      retry.hidden = false;
      return;
    }
    select.textContent = '';
    certificates.forEach(function (c, i) {
      var option = document.createElement('option');
      option.value = String(i);
      option.textContent = c.owner + ' — действует ' + day(c.from) + '–' + day(c.to) + ', ' + c.issuer;
      select.appendChild(option);
    });
    if (certificates.length === 0) {
      say('Плагин найден, но действующих сертификатов с закрытым ключом в хранилище «Личное» нет: ' +
        'вставьте носитель с ключом (токен) и проверьте ещё раз.', true);
      retry.hidden = false;
      return;
    }
    select.hidden = false;
    ok.disabled = false;
    say('Выберите сертификат: пакет будет подписан при нажатии «ОК».', false);
  }

  // The base64 of the packet's `data` that would go now.
  async function packetData() {
    var body = new URLSearchParams();
    body.set('csrf', root.dataset.csrf);
    var response = await fetch(root.dataset.data, { method: 'POST', credentials: 'same-origin', body: body });
    var answer = null;
    try { answer = await response.json(); } catch (ignored) { /* the status below */ }
    if (!response.ok) {
      throw new Error(answer && answer.error ? answer.error : 'сервер не выдал пакет для подписи (' + response.status + ')');
    }
    return answer.data;
  }

  async function signAndSend(event) {
    if (signatureField.value) return; // signed: the form goes
    event.preventDefault();
    var chosen = certificates[Number(select.value)];
    if (!chosen) return;
    ok.disabled = true;
    say('Подписываем пакет… Плагин может спросить PIN-код носителя.', false);
    try {
      var plugin = window.cadesplugin;
      var content = await packetData();
      var signer = await plugin.CreateObjectAsync('CAdESCOM.CPSigner');
      await signer.propset_Certificate(chosen.cert);
      await signer.propset_Options(INCLUDE_CHAIN_EXCEPT_ROOT);
      var data = await plugin.CreateObjectAsync('CAdESCOM.CadesSignedData');
      // Exactly the packet's bytes: the encoding before the content, or text is signed as UTF-16.
      await data.propset_ContentEncoding(BASE64_TO_BINARY);
      await data.propset_Content(content);
      var signature = await data.SignCades(signer, CADES_BES, true);
      signatureField.value = String(signature).replace(/\s+/g, '');
      say('Пакет подписан, отправляем…', false);
      form.submit();
    } catch (e) {
      say('Не удалось подписать пакет: ' + message(e), true);
      ok.disabled = false;
    }
  }

  form.addEventListener('submit', signAndSend);
  retry.addEventListener('click', init);
  init();
})();
