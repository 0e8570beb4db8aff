from gmm_desktop.app import main

if __name__ == "__main__":  # worker processes (the dask engine's local cluster) import this module again
    main()
