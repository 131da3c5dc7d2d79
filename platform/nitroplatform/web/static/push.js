// Service worker registration and Web Push subscription (VAPID). The service worker shows notifications;
// this module only asks for permission and hands the subscription to the platform.

import { ApiError, api } from "./api.js";

/** Register /sw.js with root scope. Returns the registration, or null where unsupported. */
export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (error) {
    console.warn("service worker registration failed", error);
    return null;
  }
}

/** "unsupported" | "denied" | "subscribed" | "available" */
export async function pushState() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return "unsupported";
  }
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration ? await registration.pushManager.getSubscription() : null;
  return subscription ? "subscribed" : "available";
}

function urlBase64ToUint8Array(base64) {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(padded);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Ask permission, subscribe with the platform's VAPID key and register the subscription. */
export async function subscribePush() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("permission-denied");
  const registration = await navigator.serviceWorker.ready;
  const keyResponse = await api("/push/vapid-public-key");
  const key = typeof keyResponse === "string" ? keyResponse : keyResponse.public_key || keyResponse.key;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: urlBase64ToUint8Array(key),
    });
  }
  await registerWithPlatform(subscription);
  return subscription;
}

const REGISTERED_KEY = "nitrosignal.pushRegistered";

async function registerWithPlatform(subscription) {
  try {
    await api("/push/subscriptions", { method: "POST", body: subscription.toJSON() });
  } catch (error) {
    // 409: the endpoint is still registered to the previous user of this phone, who did not sign out. The
    // platform never hands one user's subscription to another, so this browser takes a fresh endpoint.
    if (!(error instanceof ApiError) || error.status !== 409) throw error;
    const key = subscription.options && subscription.options.applicationServerKey;
    await subscription.unsubscribe();
    const registration = await navigator.serviceWorker.ready;
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await api("/push/subscriptions", { method: "POST", body: subscription.toJSON() });
  }
  localStorage.setItem(REGISTERED_KEY, subscription.endpoint);
}

/**
 * After sign-in: if this browser has a push subscription the platform may not know (a new user on a
 * shared phone, or a subscription the browser renewed), register it again. Quiet on failure.
 */
export async function syncSubscription() {
  try {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
    const registration = await navigator.serviceWorker.getRegistration("/");
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    if (subscription && localStorage.getItem(REGISTERED_KEY) !== subscription.endpoint) {
      await registerWithPlatform(subscription);
    }
  } catch (error) {
    console.warn("push subscription sync failed", error);
  }
}

/** On sign-out: stop pushes to this device for this user (a shared phone must not page the last user). */
export async function forgetSubscription() {
  try {
    if (!("serviceWorker" in navigator)) return;
    const registration = await navigator.serviceWorker.getRegistration("/");
    const subscription = registration ? await registration.pushManager.getSubscription() : null;
    if (!subscription) return;
    await api("/push/subscriptions", { method: "DELETE", body: { endpoint: subscription.endpoint } });
    localStorage.removeItem(REGISTERED_KEY);
  } catch (error) {
    console.warn("push unsubscribe failed", error);
  }
}
