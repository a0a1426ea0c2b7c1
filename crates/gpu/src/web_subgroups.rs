//! WebGPU's `subgroups` feature in the browser. wgpu's WebGPU backend maps none of its
//! features to it, so it never asks for it and `Features::SUBGROUP` is never reported
//! there. [`ask`] wraps `navigator.gpu.requestAdapter` once so that every adapter it
//! returns that has `subgroups` adds it to the features its `requestDevice` asks for;
//! [`enabled`] reads the device's own feature set. The WGSL goes to the browser as written
//! (wgpu does not translate it there), so `enable subgroups;` reaches Tint unchanged.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

const FEATURE: &str = "subgroups";
/// Marks a wrapped `requestAdapter`, so that the wrapping happens once per global.
const MARK: &str = "__hearthSubgroups";

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Whether `set` (a GPUSupportedFeatures) holds `subgroups`.
fn has_feature(set: &JsValue) -> bool {
    get(set, "has")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|has| has.call1(set, &JsValue::from_str(FEATURE)).ok())
        .is_some_and(|v| v.is_truthy())
}

/// Wraps `navigator.gpu.requestAdapter` (once) so that the devices of adapters with
/// `subgroups` are asked for with it. Does nothing where there is no `navigator.gpu`.
pub fn ask() {
    let Some(gpu) = get(&js_sys::global(), "navigator").and_then(|n| get(&n, "gpu")) else {
        return;
    };
    if get(&gpu, MARK).is_some() {
        return;
    }
    let Some(original) = get(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    let target = gpu.clone();
    let wrapped = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |options: JsValue| {
        let adapter = match original.call1(&target, &options) {
            Ok(p) => p,
            Err(e) => return Promise::reject(&e).into(),
        };
        let add = Closure::<dyn FnMut(JsValue) -> JsValue>::new(|adapter: JsValue| {
            wrap_request_device(&adapter);
            adapter
        });
        // `then` through Reflect: js-sys's typed `then` takes callbacks that return nothing
        let promise: JsValue = Promise::resolve(&adapter).into();
        let chained = get(&promise, "then")
            .and_then(|f| f.dyn_into::<Function>().ok())
            .and_then(|then| then.call1(&promise, add.as_ref()).ok())
            .unwrap_or(promise);
        add.forget();
        chained
    });
    let _ = Reflect::set(&gpu, &JsValue::from_str("requestAdapter"), wrapped.as_ref());
    let _ = Reflect::set(&gpu, &JsValue::from_str(MARK), &JsValue::TRUE);
    wrapped.forget();
}

/// Gives `adapter` (when it has `subgroups`) its own `requestDevice` that adds the feature
/// to the descriptor's `requiredFeatures`.
fn wrap_request_device(adapter: &JsValue) {
    if !get(adapter, "features").is_some_and(|f| has_feature(&f)) {
        return;
    }
    let Some(original) = get(adapter, "requestDevice").and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    let target = adapter.clone();
    let wrapped = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |desc: JsValue| {
        let desc = if desc.is_object() {
            desc
        } else {
            js_sys::Object::new().into()
        };
        let features = get(&desc, "requiredFeatures")
            .map(|f| Array::from(&f))
            .unwrap_or_default();
        if !features.includes(&JsValue::from_str(FEATURE), 0) {
            features.push(&JsValue::from_str(FEATURE));
        }
        let _ = Reflect::set(&desc, &JsValue::from_str("requiredFeatures"), &features);
        match original.call1(&target, &desc) {
            Ok(p) => p,
            Err(e) => Promise::reject(&e).into(),
        }
    });
    let _ = Reflect::set(
        adapter,
        &JsValue::from_str("requestDevice"),
        wrapped.as_ref(),
    );
    wrapped.forget();
}

/// Whether `device` was granted `subgroups`.
pub fn enabled(device: &wgpu::Device) -> bool {
    device
        .as_webgpu()
        .and_then(|d| get(d.as_ref(), "features"))
        .is_some_and(|f| has_feature(&f))
}
