package lessons

// cgroupLogic is written by the engineer who owns lesson 11; until then
// the content lint test fails on its empty logic.
func cgroupLogic() Logic { return Logic{} }
