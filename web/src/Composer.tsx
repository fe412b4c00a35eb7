// Writing a message: Enter sends, Shift+Enter starts a new line, and a counter shows the 1024 limit.
import { type SyntheticEvent, type KeyboardEvent, useId, useState } from 'react'

export const MAX_LENGTH = 1024

export function Composer({ onSend, label }: { onSend: (text: string) => void; label: string }) {
  const [text, setText] = useState('')
  const counterId = useId()
  const tooLong = text.length > MAX_LENGTH
  const sendable = text.trim().length > 0 && !tooLong

  const send = () => {
    if (!sendable) return
    onSend(text)
    setText('')
  }
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // An IME composing a word uses Enter itself.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      send()
    }
  }
  const onSubmit = (e: SyntheticEvent) => {
    e.preventDefault()
    send()
  }
  return (
    <form className="composer" onSubmit={onSubmit}>
      <textarea
        aria-label={label}
        aria-describedby={counterId}
        placeholder="Write a message"
        rows={2}
        value={text}
        onChange={(e) => { setText(e.target.value) }}
        onKeyDown={onKeyDown}
        aria-invalid={tooLong}
      />
      <div className="composer-side">
        <span id={counterId} className={tooLong ? 'counter over' : 'counter'} aria-label={`${text.length} of ${MAX_LENGTH} characters`}>
          {text.length}/{MAX_LENGTH}
        </span>
        <button type="submit" disabled={!sendable}>
          Send
        </button>
      </div>
    </form>
  )
}
