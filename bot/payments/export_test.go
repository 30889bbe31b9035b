package payments

// InHand is how many notices n's workers have taken and not yet settled.
func (n *Notifier) InHand() int {
	n.inHand.mu.Lock()
	defer n.inHand.mu.Unlock()
	return len(n.inHand.ids)
}
