package main

// The sim also stands in for a dynamic volume provisioner and the PV binder (the control plane
// runs no persistentvolume-binder-controller): every PersistentVolumeClaim gets its own
// hostPath PersistentVolume "pvc-<claim uid>" of the requested size, and both are marked
// Bound, as on a cluster with a default StorageClass. Without it claims stay Pending for ever
// and whatever waits for them (`helm --wait`) times out. Each volume is a real directory under
// the sim's work dir, which pods the sim really runs (mariadb.go) and serves files from
// (fileserver.go) mount. A claim's volume and its directory are deleted with it (reclaim
// policy Delete).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

type volumeBinder struct {
	s         *sim
	claims    corelisters.PersistentVolumeClaimLister
	queue     workqueue.TypedRateLimitingInterface[string]
	hostPaths string
}

// startVolumeBinder registers its informer on the factory; call before factory.Start.
func (s *sim) startVolumeBinder(ctx context.Context, factory informers.SharedInformerFactory) {
	claimInformer := factory.Core().V1().PersistentVolumeClaims()
	b := &volumeBinder{
		s:         s,
		claims:    claimInformer.Lister(),
		hostPaths: filepath.Join(s.workRoot, "volumes"),
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](
			50*time.Millisecond, 5*time.Second)),
	}
	s.volumes = b
	_, _ = claimInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { b.enqueue(obj) },
		UpdateFunc: func(_, obj interface{}) { b.enqueue(obj) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if claim, ok := obj.(*corev1.PersistentVolumeClaim); ok {
				b.releaseVolume(ctx, claim)
			}
		},
	})
	go func() {
		<-ctx.Done()
		b.queue.ShutDown()
	}()
	go func() {
		for b.processNext(ctx) {
		}
	}()
}

func (b *volumeBinder) enqueue(obj interface{}) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		b.queue.Add(key)
	}
}

func (b *volumeBinder) processNext(ctx context.Context) bool {
	key, quit := b.queue.Get()
	if quit {
		return false
	}
	defer b.queue.Done(key)
	if err := b.bind(ctx, key); err != nil && ctx.Err() == nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			b.s.logf("persistentvolumeclaim %s: %v", key, err)
		}
		b.queue.AddRateLimited(key)
		return true
	}
	b.queue.Forget(key)
	return true
}

func volumeNameFor(claim *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// bind provisions the claim's volume and binds both ways, each step idempotent: the volume,
// the claim's volumeName, the volume's Bound status, the claim's Bound status.
func (b *volumeBinder) bind(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := b.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if claim.DeletionTimestamp != nil || claim.Status.Phase == corev1.ClaimBound {
		return nil
	}
	volumes := b.s.client.CoreV1().PersistentVolumes()
	size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	pvName := volumeNameFor(claim)
	pv, err := volumes.Get(ctx, pvName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		pv, err = volumes.Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name:        pvName,
				Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": "storeplane.io/sim"},
			},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes:                   claim.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				StorageClassName:              ptr.Deref(claim.Spec.StorageClassName, ""),
				VolumeMode:                    claim.Spec.VolumeMode,
				ClaimRef: &corev1.ObjectReference{
					Kind: "PersistentVolumeClaim", APIVersion: "v1",
					Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
					ResourceVersion: claim.ResourceVersion,
				},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(b.hostPaths, pvName)},
				},
			},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(b.hostPaths, pvName), 0o755); err != nil {
		return err
	}
	if claim.Spec.VolumeName == "" {
		bound := claim.DeepCopy()
		bound.Spec.VolumeName = pvName
		if bound.Annotations == nil {
			bound.Annotations = map[string]string{}
		}
		bound.Annotations["pv.kubernetes.io/bind-completed"] = "yes"
		bound.Annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
		if claim, err = b.s.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, bound, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if pv.Status.Phase != corev1.VolumeBound {
		pv = pv.DeepCopy()
		pv.Status.Phase = corev1.VolumeBound
		if _, err := volumes.UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	bound := claim.DeepCopy()
	bound.Status.Phase = corev1.ClaimBound
	bound.Status.AccessModes = claim.Spec.AccessModes
	bound.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: size}
	_, err = b.s.client.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, bound, metav1.UpdateOptions{})
	return err
}

// releaseVolume deletes a deleted claim's volume (reclaim policy Delete). The volume is marked
// Released first: the pv-protection controller keeps the finalizer of a Bound volume.
func (b *volumeBinder) releaseVolume(ctx context.Context, claim *corev1.PersistentVolumeClaim) {
	volumes := b.s.client.CoreV1().PersistentVolumes()
	name := volumeNameFor(claim)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pv, err := volumes.Get(ctx, name, metav1.GetOptions{})
		if err != nil || pv.Status.Phase == corev1.VolumeReleased {
			return err
		}
		pv.Status.Phase = corev1.VolumeReleased
		_, err = volumes.UpdateStatus(ctx, pv, metav1.UpdateOptions{})
		return err
	})
	if err == nil {
		err = volumes.Delete(ctx, name, metav1.DeleteOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		b.s.logf("persistentvolume %s: %v", name, err)
	}
	if err := os.RemoveAll(filepath.Join(b.hostPaths, name)); err != nil {
		b.s.logf("persistentvolume %s: directory: %v", name, err)
	}
}

// claimDir is the host directory of the volume bound to a pod's claim; ok is false while the
// claim is not bound yet (a kubelet waits then: the pod stays Pending).
func (b *volumeBinder) claimDir(ctx context.Context, namespace, claimName string) (dir string, ok bool, err error) {
	claim, err := b.claims.PersistentVolumeClaims(namespace).Get(claimName)
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil || claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
		return "", false, err
	}
	pv, err := b.s.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", false, err
	}
	// Only the sim's own volumes: a hand-made hostPath volume must not expose the host.
	if pv.Spec.HostPath == nil || !strings.HasPrefix(pv.Spec.HostPath.Path, b.hostPaths+string(filepath.Separator)) {
		return "", false, fmt.Errorf("volume %s of claim %s/%s was not provisioned by the sim", pv.Name, namespace, claimName)
	}
	return pv.Spec.HostPath.Path, true, os.MkdirAll(pv.Spec.HostPath.Path, 0o755)
}
