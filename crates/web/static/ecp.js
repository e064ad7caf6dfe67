// ЭЦП through «КриптоПро ЭЦП Browser plug-in»: lists the user's certificates (store «My» of
// the current user, those in force with a private key), asks the server for the bytes to sign
// (`data-challenge`: a POST answering base64 under the key `data-key`, «challenge» by default),
// signs them as a detached CAdES-BES and posts the signature in the page's form. The sign-in
// page, «Сертификаты ЭЦП» and «Подписать и утвердить» sign with the button `#ecp-sign`; the
// «Отправить на ООС» dialog (no such button) signs the packet's data when its own form is sent.
// The plug-in's API is CryptoPro's cadesplugin_api.js (asynchronous objects: property reads
// answer promises, writes are propset_<Name> calls).
(function () {
  'use strict';
  var root = document.getElementById('ecp');
  if (!root) return;
  var status = document.getElementById('ecp-status');
  var select = document.getElementById('ecp-certificate');
  var signButton = document.getElementById('ecp-sign');
  var retry = document.getElementById('ecp-retry');
  var signatureField = document.getElementById('ecp-signature');
  // Without a sign button the page's form itself is what is signed on sending.
  var onSubmit = !signButton;
  var form = onSubmit ? root.closest('form') : document.getElementById('ecp-form');
  var submit = onSubmit ? form.querySelector('button[type=submit]') : null;
  var certificates = [];

  // CAPICOM and CAdESCOM constants (CryptoPro's documentation).
  var CURRENT_USER_STORE = 2, MY_STORE = 'My', OPEN_MAXIMUM_ALLOWED = 2;
  var FIND_TIME_VALID = 9, FIND_EXTENDED_PROPERTY = 6, PROPID_KEY_PROV_INFO = 2;
  var INCLUDE_CHAIN_EXCEPT_ROOT = 0, CADES_BES = 1, BASE64_TO_BINARY = 1;

  var ABSENT = 'Плагин для электронной подписи не найден. Чтобы входить и подписывать по ЭЦП, установите ' +
    'КриптоПро CSP и «КриптоПро ЭЦП Browser plug-in» (страница производителя: ' +
    'https://www.cryptopro.ru/products/cades/plugin), включите расширение плагина в браузере и обновите ' +
    'страницу. Вход по логину и паролю работает и без него.';
  if (root.dataset.absent) ABSENT = root.dataset.absent;

  // Whether a certificate can be chosen and signed with now.
  function ready(yes) {
    if (onSubmit) {
      select.hidden = !yes;
      submit.disabled = !yes;
    } else {
      form.hidden = !yes;
    }
  }

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

  // «CN=Иванов Иван Иванович, SNILS=…» → the value of CN (or the whole name).
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
          to: await cert.ValidToDate,
          thumbprint: await cert.Thumbprint
        });
      }
      return found;
    } finally {
      await store.Close();
    }
  }

  async function init() {
    retry.hidden = true;
    ready(false);
    var plugin = window.cadesplugin;
    if (!plugin || typeof plugin.then !== 'function') {
      say(ABSENT, true);
      retry.hidden = false;
      return;
    }
    say('Ищем плагин и ваши сертификаты…', false);
    try {
      // The plug-in's object is a thenable: it is awaited here, never returned from a function.
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
      option.dataset.thumbprint = c.thumbprint;
      select.appendChild(option);
    });
    if (certificates.length === 0) {
      say('Плагин найден, но действующих сертификатов с закрытым ключом в хранилище «Личное» нет: ' +
        'вставьте носитель с ключом (токен) и проверьте ещё раз.', true);
      retry.hidden = false;
      return;
    }
    say(root.dataset.choose || 'Выберите сертификат.', false);
    ready(true);
  }

  async function challenge() {
    var body = new URLSearchParams();
    if (root.dataset.csrf) body.set('csrf', root.dataset.csrf);
    var response = await fetch(root.dataset.challenge, { method: 'POST', credentials: 'same-origin', body: body });
    if (!response.ok) {
      // A refusal in words (`{"error": …}`), when the server gave one.
      var why = '';
      try { why = (await response.json()).error || ''; } catch (ignored) { /* the status below */ }
      if (!why && response.status === 429) why = 'слишком много запросов на подпись с вашего адреса, подождите несколько минут';
      throw new Error(why || 'сервер не выдал запрос на подпись (' + response.status + ')');
    }
    return (await response.json())[root.dataset.key || 'challenge'];
  }

  async function sign(event) {
    if (onSubmit) {
      if (signatureField.value) return; // signed: the form goes
      event.preventDefault();
    }
    var chosen = certificates[Number(select.value)];
    if (!chosen) return;
    (signButton || submit).disabled = true;
    say('Подписываем… Плагин может спросить PIN-код носителя.', false);
    try {
      var plugin = window.cadesplugin;
      var content = await challenge();
      var signer = await plugin.CreateObjectAsync('CAdESCOM.CPSigner');
      await signer.propset_Certificate(chosen.cert);
      // The chain without the root: an intermediate УЦ must reach the server with the signature.
      await signer.propset_Options(INCLUDE_CHAIN_EXCEPT_ROOT);
      var data = await plugin.CreateObjectAsync('CAdESCOM.CadesSignedData');
      // Exactly the challenge's bytes: the encoding before the content, or text is signed as UTF-16.
      await data.propset_ContentEncoding(BASE64_TO_BINARY);
      await data.propset_Content(content);
      var signature = await data.SignCades(signer, CADES_BES, true);
      signatureField.value = String(signature).replace(/\s+/g, '');
      say('Подпись готова, проверяем…', false);
      form.submit();
    } catch (e) {
      say('Не удалось подписать: ' + message(e), true);
      (signButton || submit).disabled = false;
    }
  }

  if (onSubmit) form.addEventListener('submit', sign); else signButton.addEventListener('click', sign);
  retry.addEventListener('click', init);
  init();
})();
