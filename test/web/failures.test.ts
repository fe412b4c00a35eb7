// When the server cannot be reached: a banner, which goes by itself when it can again; a send that
// failed shows as failed and its retry stores the message once (the same clientMessageId).
import t from 'tap'
import { tcpProxy } from '../helpers/tcp-proxy.js'
import { devToken, launchBrowser, send, signedIn, webApp } from '../helpers/browser.js'

t.test('a failed send, retried, is stored once', async (t) => {
  const [app, browser] = await Promise.all([webApp(t), launchBrowser(t)])
  const port = Number(new URL(app.url).port)
  const proxy = await tcpProxy(t, { host: '127.0.0.1', port })
  const url = `http://127.0.0.1:${proxy.port}`
  const andrew = await devToken(app, 'andrewbrown')
  const group = await send(app, andrew, { handle: 'bayko' }, 'Are you there?')

  const { page } = await signedIn(browser, url, 'bayko')
  const ids: string[] = []
  page.on('request', (req) => {
    if (req.url().includes('/trpc/messages.create')) ids.push((JSON.parse(req.postData() ?? '{}') as { clientMessageId: string }).clientMessageId)
  })
  await page.locator(`a[data-uuid="${group}"]`).click()
  await page.locator('.msg', { hasText: 'Are you there?' }).waitFor()

  proxy.cut()
  const composer = page.getByRole('textbox', { name: /^Message to/ })
  await composer.fill('Yes, here.')
  await composer.press('Enter')
  await page.locator('.msg[data-status="pending"]', { hasText: 'Yes, here.' }).waitFor({ timeout: 2_000 })
  t.pass('shown at once as pending')
  await page.locator('.msg[data-status="failed"]', { hasText: 'Yes, here.' }).waitFor({ timeout: 15_000 })
  t.pass('then as failed, with a retry')
  await page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor()
  t.pass('the banner says the server cannot be reached')

  proxy.restore()
  await page.locator('.banner').waitFor({ state: 'detached', timeout: 10_000 })
  t.pass('the banner goes by itself once the server answers')

  await page.getByRole('button', { name: 'Retry' }).click()
  await page.locator('.msg[data-status="sent"]', { hasText: 'Yes, here.' }).waitFor({ timeout: 10_000 })
  t.equal(await page.locator('.msg', { hasText: 'Yes, here.' }).count(), 1, 'shown once')
  const res = await app.call(`/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ messageGroupUuid: group }))}`, { token: andrew })
  const texts = (res.body as { result: { data: { items: { message: string }[] } } }).result.data.items.map((m) => m.message)
  t.same(texts, ['Are you there?', 'Yes, here.'], 'stored once')
  t.ok(ids.length >= 2, `the create was attempted ${ids.length} times`)
  t.equal(new Set(ids).size, 1, 'every attempt carried the same clientMessageId')
})
