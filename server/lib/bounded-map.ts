/** A Map that forgets its oldest entry (by insertion) when a new key would take it past `max`. */
export function boundedMap<K, V>(max: number): Map<K, V> {
  const map = new Map<K, V>()
  const set = map.set.bind(map)
  map.set = (key, value) => {
    if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value!)
    return set(key, value)
  }
  return map
}
