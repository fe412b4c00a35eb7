// Two people in two browser contexts: what one sends appears in the other's open conversation within
// a second, without a reload, and the other's list moves that conversation to the top.
import t from 'tap'
import { devToken, launchBrowser, send, signedIn, webApp } from '../helpers/browser.js'

t.test('A sends; B sees it live and B’s list re-orders', async (t) => {
  const [app, browser] = await Promise.all([webApp(t), launchBrowser(t)])
  const [andrew, bayko, londo] = await Promise.all(['andrewbrown', 'bayko', 'londo'].map((h) => devToken(app, h)))
  const withAndrew = await send(app, andrew!, { handle: 'bayko' }, 'Are you coming on Friday?')
  await send(app, bayko!, { messageGroupUuid: withAndrew }, 'Probably, yes.')
  // Londo writes last, so his conversation is at the top of Bayko's list.
  await send(app, londo!, { handle: 'bayko' }, 'The Centauri Republic sends its regards.')

  const b = await signedIn(browser, app.url, 'bayko')
  const rows = b.page.locator('.groups li .name')
  await rows.first().waitFor()
  t.same(await rows.allTextContents(), ['Londo Mollari', 'Andrew Brown'], 'newest first')
  await b.page.locator(`a[data-uuid="${withAndrew}"]`).click()
  await b.page.waitForURL(`${app.url}/messages/${withAndrew}`)
  await b.page.locator('.msg', { hasText: 'Probably, yes.' }).waitFor()
  // A marker that a reload would erase.
  await b.page.evaluate(() => ((window as unknown as { marker: number }).marker = 42))

  const a = await signedIn(browser, app.url, 'andrewbrown')
  await a.page.locator(`a[data-uuid="${withAndrew}"]`).click()
  const composer = a.page.getByRole('textbox', { name: /^Message to/ })
  await composer.fill('See you at eight.')
  const sentAt = Date.now()
  await composer.press('Enter')

  await b.page.locator('.msg', { hasText: 'See you at eight.' }).waitFor({ timeout: 5_000 })
  const elapsed = Date.now() - sentAt
  t.comment(`delivered to the other browser in ${elapsed} ms`)
  t.ok(elapsed < 1_000, `shown to B within a second (${elapsed} ms)`)
  t.equal(await b.page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'without a reload')
  await t.resolves(
    b.page.waitForFunction(() => document.querySelector('.groups li .name')?.textContent === 'Andrew Brown', null, { timeout: 5_000 }),
    'B’s list moved the conversation to the top',
  )
  t.equal(await b.page.locator('.groups li').first().locator('.last').textContent(), 'See you at eight.', 'with the new last message')
  t.equal(await b.page.locator('.groups li').first().locator('.when').textContent(), 'now')

  // A's own view: pending, then sent, once.
  await a.page.locator('.msg[data-status="sent"]', { hasText: 'See you at eight.' }).waitFor()
  t.equal(await a.page.locator('.msg', { hasText: 'See you at eight.' }).count(), 1, 'shown once to the sender')
  t.equal(await b.page.locator('.msg', { hasText: 'See you at eight.' }).count(), 1, 'shown once to the recipient')
})
