import { parse } from 'fast-querystring'
import t from 'tap'
import { memoQuerystringParser } from '../../../server/lib/querystring-memo.js'

t.test('parses as fast-querystring does, once per distinct query string, frozen and bounded', (t) => {
  const parseQuery = memoQuerystringParser(2)
  const raw = 'batch=1&input=%7B%220%22%3A%7B%22messageGroupUuid%22%3A%22x%22%7D%7D'
  const first = parseQuery(raw)
  t.same(first, parse(raw))
  t.equal(parseQuery(raw), first, 'the same text: the same object, not parsed again')
  t.ok(Object.isFrozen(first), 'shared between requests, so frozen')
  t.throws(() => {
    'use strict'
    ;(first).input = 'changed'
  })
  parseQuery('a=1')
  parseQuery('b=2')
  t.not(parseQuery(raw), first, 'the oldest of more than `max` texts is forgotten')
  const long = `input=${'x'.repeat(600)}`
  t.not(parseQuery(long), parseQuery(long), 'long query strings (a subscription with its token) are not kept')
  t.end()
})
