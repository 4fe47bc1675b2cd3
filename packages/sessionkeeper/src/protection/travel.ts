const EARTH_RADIUS_KM = 6371;

/** A point on Earth at a time (epoch ms). */
export interface Fix {
  latitude: number;
  longitude: number;
  at: number;
}

/** Great-circle distance in km between two points (haversine). */
export function distanceKm(
  a: { latitude: number; longitude: number },
  b: { latitude: number; longitude: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The distance and speed between two sign-ins when reaching the second from the first would need
 * more than `maxKmh`; null when plausible. Moves under `minKm` never count: IP geolocation is
 * only city-precise, so neighbouring cities would otherwise look like teleports.
 */
export function impossibleTravel(
  from: Fix,
  to: Fix,
  limits: { maxKmh: number; minKm: number },
): { km: number; kmh: number } | null {
  const km = distanceKm(from, to);
  if (km < limits.minKm) return null;
  // At least one second apart, so two sign-ins in the same millisecond give a finite speed.
  const hours = Math.max(to.at - from.at, 1000) / 3_600_000;
  const kmh = km / hours;
  return kmh > limits.maxKmh ? { km: Math.round(km), kmh: Math.round(kmh) } : null;
}
