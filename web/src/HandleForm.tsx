// Asks for a @handle and opens /messages/new/:handle.
import { normalizeHandle } from './handle'
import { type SyntheticEvent, useId, useState } from 'react'
import { navigate } from './router'

export function HandleForm({ label, onDone, autoFocus }: { label: string; onDone?: () => void; autoFocus?: boolean }) {
  const [value, setValue] = useState('')
  const id = useId()
  const submit = (e: SyntheticEvent) => {
    e.preventDefault()
    const handle = normalizeHandle(value)
    if (!handle) return
    setValue('')
    onDone?.()
    navigate(`/messages/new/${encodeURIComponent(handle)}`)
  }
  return (
    <form className="handle-form" onSubmit={submit}>
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input
          id={id}
          value={value}
          onChange={(e) => { setValue(e.target.value) }}
          placeholder="@handle"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus={autoFocus}
        />
        <button type="submit">Open</button>
      </div>
    </form>
  )
}
